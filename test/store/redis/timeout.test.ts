import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { appOnRedis, postJson } from '../../support/http.js'
import { OwnRedis } from '../../support/redis-server.js'
import { silent } from '../../support/stores.js'

const TIMEOUT_MS = 200
/** What the store reports at warn: an outage is worth one line, not one per request. */
const warnings: string[] = []
const log = { ...silent, warn: (_details: object, message: string) => warnings.push(message) }
let redis: OwnRedis
let app: FastifyInstance

beforeAll(async () => {
  redis = await OwnRedis.start()
  const service = await appOnRedis(
    { REDIS_URL: redis.url, REDIS_TIMEOUT_MS: String(TIMEOUT_MS) },
    { log },
  )
  app = service.app
})

afterAll(async () => {
  await app?.close()
  await redis?.stop()
})

/** A retry sends the same body with the same key. */
const bodies = new Map<string, object>()
function post(key?: string) {
  const body = (key && bodies.get(key)) || { amount: 1.5, timestamp: Date.now() }
  if (key) bodies.set(key, body)
  return postJson(app, '/transactions', body, key ? { 'idempotency-key': key } : {})
}

async function readyWithin(ms: number): Promise<number> {
  const started = performance.now()
  while ((await app.inject({ method: 'GET', url: '/ready' })).statusCode !== 200) {
    if (performance.now() - started > ms) throw new Error('not ready in time')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return performance.now() - started
}

describe('a Redis that hangs', () => {
  it('answers 503 truthfully while Redis does not answer, and exactly once after a retry with the same key', async () => {
    expect((await post()).statusCode).toBe(201)
    redis.pause()
    try {
      // Sent, then timed out: it may have been stored, and the answer says so.
      const started = performance.now()
      const sent = await post('frozen-1')
      expect(sent.statusCode).toBe(503)
      expect(sent.headers['retry-after']).toBe('1')
      expect(sent.json().detail).toMatch(/may or may not have been done/)
      expect(performance.now() - started).toBeLessThan(TIMEOUT_MS + 1_000)
      // From then on the store is known not to answer: 503 at once, and nothing was done.
      for (let i = 0; i < 3; i++) {
        const fast = performance.now()
        const response = await post()
        expect(response.statusCode).toBe(503)
        expect(response.json().detail).toMatch(/nothing was done/)
        expect(performance.now() - fast).toBeLessThan(TIMEOUT_MS / 2)
      }
      expect((await app.inject({ method: 'GET', url: '/statistics' })).statusCode).toBe(503)
      expect((await app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(503)
      expect(warnings).toEqual([expect.stringMatching(/shard does not answer/)])
    } finally {
      redis.resume()
    }
    // Ready again as soon as a probe is answered; the end of the outage is logged once.
    await readyWithin(1_000)
    expect(warnings).toEqual([
      expect.stringMatching(/shard does not answer/),
      expect.stringMatching(/answers again/),
    ])
    // The timed-out write was on its way: Redis ran it when it woke. Its retry, with the same
    // key, is answered as it was, not counted again.
    const retried = await post('frozen-1')
    expect(retried.statusCode).toBe(201)
    expect(retried.headers['idempotent-replayed']).toBe('true')
    const statistics = (await app.inject({ method: 'GET', url: '/statistics' })).json()
    expect(statistics).toMatchObject({ count: 2, sum: 3 })
    // The writer read its partition's count of writes, saw that its call in doubt ran, and kept
    // writing the same partition rather than start another.
    expect((await post()).statusCode).toBe(201)
    const after = (await app.inject({ method: 'GET', url: '/statistics' })).json()
    expect(after).toMatchObject({ count: 3, sum: 4.5 })
    const client = new Redis(redis.url)
    try {
      const [parts] = await client.keys('*:parts')
      expect(await client.zcard(parts as string)).toBe(1)
    } finally {
      client.disconnect()
    }
  })
  it('leaves the shard up when only a read times out: writes go on as soon as Redis answers', async () => {
    warnings.length = 0
    redis.pause()
    try {
      const read = await app.inject({ method: 'GET', url: '/statistics' })
      expect(read.statusCode).toBe(503)
    } finally {
      redis.resume()
    }
    // Not taken for down: the next write is tried, not refused at once.
    expect((await post()).statusCode).toBe(201)
    expect(warnings).toEqual([])
  })
})
