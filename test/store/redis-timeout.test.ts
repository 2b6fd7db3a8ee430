import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.js'
import { buildApp } from '../../src/http/app.js'
import { createStore } from '../../src/store/create.js'
import { RedisStore } from '../../src/store/redis/store.js'
import { postJson } from '../support/http.js'
import { OwnRedis } from '../support/redis-server.js'
import { silent, waitUntilReady } from '../support/stores.js'

const TIMEOUT_MS = 200
/** What the store reports at warn: an outage is worth one line, not one per request. */
const warnings: string[] = []
const log = { ...silent, warn: (_details: object, message: string) => warnings.push(message) }
let redis: OwnRedis
let app: FastifyInstance

beforeAll(async () => {
  redis = await OwnRedis.start()
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    STORE: 'redis',
    REDIS_URL: redis.url,
    REDIS_TIMEOUT_MS: String(TIMEOUT_MS),
  })
  const store = createStore(config)
  if (!(store instanceof RedisStore)) throw new Error('expected the Redis store')
  store.connect(log)
  await waitUntilReady(store)
  app = await buildApp({ config, store })
  app.addHook('onClose', async () => {
    await store.close()
  })
})

afterAll(async () => {
  await app?.close()
  await redis?.stop()
})

const post = () => postJson(app, '/transactions', { amount: 1.5, timestamp: Date.now() })

describe('a Redis that hangs', () => {
  it('answers 503 within the timeout while Redis does not answer, and serves again after', async () => {
    expect((await post()).statusCode).toBe(201)
    redis.pause()
    let timedOut = 0
    try {
      for (let i = 0; i < 3; i++) {
        const started = performance.now()
        const response = await post()
        const waited = performance.now() - started
        expect(response.statusCode).toBe(503)
        expect(response.headers['retry-after']).toBe('1')
        // Sent, then timed out: the client is told it may have been stored.
        expect(response.json().detail).toMatch(/may or may not have been done/)
        expect(waited).toBeLessThan(TIMEOUT_MS + 1_000)
        timedOut++
      }
      expect((await app.inject({ method: 'GET', url: '/statistics' })).statusCode).toBe(503)
      // Connected, but not answering: not ready, said once in the log.
      expect((await app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(503)
      expect(warnings).toEqual([expect.stringMatching(/did not answer in time/)])
    } finally {
      redis.resume()
    }
    // Ready again as soon as Redis answers (the readiness check asks it).
    expect((await app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200)
    expect((await post()).statusCode).toBe(201)
    // A command that timed out was already on its way: Redis runs it when it wakes. Each is
    // counted wholly or not at all, so the count lies between the 201s and 201s + 503s.
    const statistics = (await app.inject({ method: 'GET', url: '/statistics' })).json()
    expect(statistics.count).toBeGreaterThanOrEqual(2)
    expect(statistics.count).toBeLessThanOrEqual(2 + timedOut)
    expect(statistics.sum).toBe(statistics.count * 1.5)
  })
})
