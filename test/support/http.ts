import { connect } from 'node:net'
import { Writable } from 'node:stream'
import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import { expect } from 'vitest'
import { loadConfig } from '../../src/config.js'
import { buildApp } from '../../src/http/app.js'
import type { NatsIngest } from '../../src/ingest/nats.js'
import { createStore, windowOptions } from '../../src/store/create.js'
import { RedisStore } from '../../src/store/redis/store.js'
import type { ConnectionLog, TransactionStore } from '../../src/store/store.js'
import { FakeClock } from './fake-clock.js'
import { openStore, type StoreKind, silent, waitUntilReady } from './stores.js'

export const NOW = 1_700_000_000_000

export interface TestApp {
  app: FastifyInstance
  clock: FakeClock
  store: TransactionStore
}

export interface TestAppOptions {
  /** The store under the app (memory unless a suite runs on others: see describeStores). */
  store?: StoreKind
  env?: Record<string, string>
  logger?: FastifyServerOptions['logger']
  /** Ingest from NATS, reported on by /ready and /metrics. */
  ingest?: NatsIngest
}

/**
 * The app as the server builds it on the Redis store the environment names, on Redis's clock as
 * in production: connected, ready, its store closed with it. `log` hears the store's outages.
 */
export async function appOnRedis(
  env: Record<string, string>,
  { log = silent, readyWithinMs = 5_000 }: { log?: ConnectionLog; readyWithinMs?: number } = {},
): Promise<{ app: FastifyInstance; store: RedisStore }> {
  const config = loadConfig({ LOG_LEVEL: 'silent', STORE: 'redis', ...env })
  const store = createStore(config)
  if (!(store instanceof RedisStore)) throw new Error('expected the Redis store')
  await store.connect(log)
  await waitUntilReady(store, readyWithinMs)
  const app = await buildApp({ config, store })
  app.addHook('onClose', async () => {
    await store.close()
  })
  return { app, store }
}

/** The app as the server builds it, on a store driven by a fake clock, logging nothing. */
export async function testApp(options: TestAppOptions = {}): Promise<TestApp> {
  // Quantiles on, unlike the service's default: the suites exercise every feature unless they
  // say otherwise.
  const config = loadConfig({ LOG_LEVEL: 'silent', QUANTILES: 'true', ...options.env })
  const clock = new FakeClock(NOW)
  const store = await openStore(options.store ?? 'memory', {
    ...windowOptions(config),
    clock: clock.read,
  })
  const app = await buildApp({
    config,
    store,
    logger: options.logger ?? false,
    ingest: options.ingest,
  })
  app.addHook('onClose', async () => {
    await store.close()
  })
  return { app, clock, store }
}

export function postJson(
  app: FastifyInstance,
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
) {
  return app.inject({
    method: 'POST',
    url,
    payload: JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...headers },
  })
}

/** A problem+json answer with that status, and its body. */
export function expectProblem(
  response: { statusCode: number; headers: Record<string, unknown>; json(): unknown },
  status: number,
): Record<string, unknown> {
  expect(response.statusCode).toBe(status)
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/)
  const body = response.json() as Record<string, unknown>
  expect(body).toMatchObject({
    type: 'about:blank',
    status,
    title: expect.any(String),
    detail: expect.any(String),
  })
  expect(JSON.stringify(body)).not.toMatch(/\bat .*\.(js|ts):\d+/) // no stack trace
  return body
}

export function postRaw(app: FastifyInstance, url: string, payload: string, contentType?: string) {
  const headers: Record<string, string> = contentType ? { 'content-type': contentType } : {}
  return app.inject({ method: 'POST', url, payload, headers })
}

export async function statistics(app: FastifyInstance) {
  const response = await app.inject({ method: 'GET', url: '/statistics' })
  return response.json()
}

/** Writes raw bytes on a new connection; resolves with all that comes back before it closes. */
export function rawExchange(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes))
    let received = ''
    socket.on('data', (chunk) => {
      received += String(chunk)
    })
    socket.on('error', reject)
    socket.on('close', () => resolve(received))
    socket.setTimeout(5_000, () => socket.destroy())
  })
}

/** A log destination for a test app, and the lines written to it so far. */
export function capturedLog(): { stream: Writable; lines: string[] } {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      lines.push(...String(chunk).trim().split('\n'))
      callback()
    },
  })
  return { stream, lines }
}
