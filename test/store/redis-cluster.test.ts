import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.js'
import { buildApp } from '../../src/http/app.js'
import { createStore } from '../../src/store/create.js'
import { RedisStore } from '../../src/store/redis/store.js'
import { postJson } from '../support/http.js'
import { OwnRedis } from '../support/redis-server.js'
import { silent, waitUntilReady } from '../support/stores.js'

const run = promisify(execFile)
const masters: OwnRedis[] = []
let app: FastifyInstance

/** Three masters on free ports, made a cluster by redis-cli, the service on it with 3 shards. */
beforeAll(async () => {
  for (let i = 0; i < 3; i++) {
    masters.push(
      await OwnRedis.start(['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf']),
    )
  }
  const nodes = masters.map((master) => `127.0.0.1:${master.port}`)
  await run('redis-cli', [
    '--cluster',
    'create',
    ...nodes,
    '--cluster-replicas',
    '0',
    '--cluster-yes',
  ])
  await until(async () => {
    const infos = await Promise.all(masters.map((master) => command(master, 'CLUSTER', 'INFO')))
    return infos.every((info) => String(info).includes('cluster_state:ok'))
  })
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    STORE: 'redis',
    REDIS_URL: masters[0]?.url ?? '',
    REDIS_CLUSTER: 'true',
    REDIS_SHARDS: '3',
  })
  const store = createStore(config)
  if (!(store instanceof RedisStore)) throw new Error('expected the Redis store')
  store.connect(silent)
  await waitUntilReady(store, 10_000)
  app = await buildApp({ config, store })
  app.addHook('onClose', async () => {
    await store.close()
  })
}, 30_000)

afterAll(async () => {
  await app?.close()
  await Promise.all(masters.map((master) => master.stop()))
})

async function command(master: OwnRedis, ...args: string[]): Promise<unknown> {
  const client = new Redis(master.url)
  try {
    return await client.call(args[0] as string, ...args.slice(1))
  } finally {
    client.disconnect()
  }
}

async function until(condition: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out waiting')
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

describe('a three-master Redis Cluster, REDIS_SHARDS=3', () => {
  it('answers exactly, with the window spread over the three masters', async () => {
    const now = Date.now()
    const amounts = [0.1, 0.2, 0.3, -7.5, 1e20, -1e20, 2.25, 0.05, 19.99]
    for (const [i, amount] of amounts.entries()) {
      const response = await postJson(app, '/transactions', { amount, timestamp: now - i })
      expect(response.statusCode).toBe(201)
    }
    const batch = await postJson(app, '/transactions/batch', [
      { amount: 1, timestamp: now },
      { amount: 2, timestamp: now - 60_001 },
    ])
    expect(batch.json()).toMatchObject({ stored: 1, tooOld: 1 })
    const statistics = (await app.inject({ method: 'GET', url: '/statistics' })).json()
    expect(statistics).toEqual({ sum: 16.39, avg: 1.639, max: 1e20, min: -1e20, count: 10 })

    const keys = await Promise.all(masters.map((master) => command(master, 'DBSIZE')))
    for (const count of keys) expect(count).toBeGreaterThan(1) // a meta hash and blocks each

    expect((await app.inject({ method: 'DELETE', url: '/transactions' })).statusCode).toBe(204)
    expect((await app.inject({ method: 'GET', url: '/statistics' })).json()).toMatchObject({
      count: 0,
    })
  })
})
