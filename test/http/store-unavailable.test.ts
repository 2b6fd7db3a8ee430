import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.js'
import { buildApp } from '../../src/http/app.js'
import { connectRedis } from '../../src/store/redis/client.js'
import { RedisStore } from '../../src/store/redis/store.js'
import { freePort } from '../support/processes.js'
import { silent } from '../support/stores.js'

let app: Awaited<ReturnType<typeof buildApp>>

/** A service started with STORE=redis and no Redis: it starts, not ready, and says so. */
beforeAll(async () => {
  const url = `redis://127.0.0.1:${await freePort()}`
  const config = loadConfig({ LOG_LEVEL: 'silent', STORE: 'redis', REDIS_URL: url })
  const store = new RedisStore({ client: connectRedis({ url, cluster: false, timeoutMs: 200 }) })
  store.connect(silent)
  app = await buildApp({ config, store })
  app.addHook('onClose', async () => {
    await store.close()
  })
})
afterAll(() => app.close())

const json = { 'content-type': 'application/json' }

describe('a store that cannot serve', () => {
  it.each([
    ['POST', '/transactions', JSON.stringify({ amount: 1, timestamp: Date.now() })],
    ['POST', '/transactions/batch', JSON.stringify([{ amount: 1, timestamp: Date.now() }])],
    ['DELETE', '/transactions', undefined],
    ['GET', '/statistics', undefined],
    ['GET', '/statistics/series', undefined],
    ['GET', '/ready', undefined],
  ] as const)('%s %s answers 503 problem+json with Retry-After', async (method, url, payload) => {
    const response = await app.inject({
      method,
      url,
      ...(payload === undefined ? {} : { payload, headers: json }),
    })
    expect(response.statusCode).toBe(503)
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(response.json()).toMatchObject({ status: 503, title: 'Service Unavailable' })
    if (url !== '/ready') {
      expect(response.headers['retry-after']).toBe('1')
      // Never connected, so nothing was sent: the client knows nothing was done.
      expect(response.json().detail).toMatch(/nothing was done/)
    }
    expect(response.body).not.toMatch(/ECONNREFUSED|at .*\.(js|ts):\d+/)
  })

  it('stays alive: /health answers 200', async () => {
    expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200)
  })

  it('still judges bad input first: 422, not 503', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/transactions',
      payload: JSON.stringify({ amount: 'x', timestamp: 1 }),
      headers: json,
    })
    expect(response.statusCode).toBe(422)
  })
})
