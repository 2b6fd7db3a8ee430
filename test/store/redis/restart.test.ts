import type { FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { appOnRedis, postJson } from '../../support/http.js'
import { OwnRedis } from '../../support/redis-server.js'

const AMOUNT = 2.5

let redis: OwnRedis | undefined
let app: FastifyInstance | undefined

afterEach(async () => {
  await app?.close()
  await redis?.stop()
})

/** The service on a Redis of the test's own, on Redis's clock as in production. */
async function serviceOn(own: OwnRedis) {
  const service = await appOnRedis({ REDIS_URL: own.url })
  app = service.app
  return service
}

/** POSTs one transaction after another until stopped; counts answers by status. */
function traffic(service: FastifyInstance) {
  const statuses = new Map<number, number>()
  let running = true
  const done = (async () => {
    while (running) {
      const response = await postJson(service, '/transactions', {
        amount: AMOUNT,
        timestamp: Date.now(),
      })
      statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1)
      if (response.statusCode === 503) {
        expect(response.headers['retry-after']).toBe('1')
        expect(response.headers['content-type']).toMatch(/^application\/problem\+json/)
      }
    }
  })()
  return {
    statuses,
    stored: () => statuses.get(201) ?? 0,
    async stop() {
      running = false
      await done
    },
  }
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out waiting')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

async function statistics(service: FastifyInstance) {
  const response = await service.inject({ method: 'GET', url: '/statistics' })
  return { status: response.statusCode, body: response.json() }
}

describe.each([
  ['without persistence', [] as string[]],
  ['with an append-only file', ['--appendonly', 'yes', '--appendfsync', 'always']],
])('Redis stopped mid-traffic and started again, %s', (_name, args) => {
  it('answers 503 while it is down, stores nothing by halves, and serves again by itself', async () => {
    redis = await OwnRedis.start(args)
    const { app: service, store } = await serviceOn(redis)
    const load = traffic(service)
    await until(() => load.stored() >= 200)

    await redis.stop()
    const storedBefore = load.stored()
    await until(() => (load.statuses.get(503) ?? 0) >= 20)
    expect((await statistics(service)).status).toBe(503)
    expect((await service.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(503)
    expect((await service.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200)

    expect(load.stored()).toBe(storedBefore) // nothing is answered as stored while it is down
    await redis.start()
    await until(() => store.ready())
    await until(() => load.stored() >= storedBefore + 200)
    await load.stop()

    expect([...load.statuses.keys()].sort()).toEqual([201, 503])
    const { status, body } = await statistics(service)
    expect(status).toBe(200)
    // Whole transactions only: every one counted has its amount in the sum, min and max.
    expect(body).toEqual({
      count: body.count,
      sum: body.count * AMOUNT,
      avg: AMOUNT,
      min: AMOUNT,
      max: AMOUNT,
    })
    if (args.length === 0) {
      // The window went with Redis: what is counted is what was stored since the restart.
      expect(body.count).toBe(load.stored() - storedBefore)
    } else {
      // Every 201 survived. The one request in flight when Redis stopped may have been stored
      // by Redis, which then closed before answering: it was answered 503, yet counted.
      expect(body.count - load.stored()).toBeGreaterThanOrEqual(0)
      expect(body.count - load.stored()).toBeLessThanOrEqual(1)
    }
  }, 30_000)
})
