import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { appOnRedis, postJson } from '../../support/http.js'
import { command, OwnCluster } from '../../support/redis-server.js'

let cluster: OwnCluster
let app: FastifyInstance

/** Three masters on free ports, made a cluster by redis-cli, the service on it with 3 shards. */
beforeAll(async () => {
  cluster = await OwnCluster.start(3)
  app = (
    await appOnRedis(
      { REDIS_URL: cluster.url, REDIS_CLUSTER: 'true', REDIS_SHARDS: '3' },
      { readyWithinMs: 10_000 },
    )
  ).app
}, 30_000)

afterAll(async () => {
  await app?.close()
  await cluster?.stop()
})

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

    const keys = await Promise.all(cluster.nodes.map((node) => command(node.url, 'DBSIZE')))
    for (const count of keys) expect(count).toBeGreaterThan(1) // a meta hash and blocks each

    expect((await app.inject({ method: 'DELETE', url: '/transactions' })).statusCode).toBe(204)
    expect((await app.inject({ method: 'GET', url: '/statistics' })).json()).toMatchObject({
      count: 0,
    })
  })
})
