import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { appOnRedis, postJson } from '../../support/http.js'
import { command, OwnRedis, until } from '../../support/redis-server.js'

const TIMEOUT_MS = 300
let master: OwnRedis
let replica: OwnRedis
let app: FastifyInstance

/** A master and its replica; the service answers a write only once the replica has it. */
beforeAll(async () => {
  master = await OwnRedis.start(['--repl-diskless-sync-delay', '0'])
  replica = await OwnRedis.start(['--replicaof', '127.0.0.1', String(master.port)])
  await until(async () =>
    String(await command(replica.url, 'INFO', 'replication')).includes('master_link_status:up'),
  )
  // A new link's first WAIT may take up to a second (until the replica's first ACK): not the test's.
  const warmUp = new Redis(master.url)
  await warmUp.pipeline().set('warm-up', '1').wait(1, 5_000).exec()
  warmUp.disconnect()
  app = (
    await appOnRedis({
      REDIS_URL: master.url,
      REDIS_TIMEOUT_MS: String(TIMEOUT_MS),
      REDIS_WAIT_REPLICAS: '1',
    })
  ).app
}, 20_000)

afterAll(async () => {
  await app?.close()
  await replica?.stop()
  await master?.stop()
})

const body = (amount: number) => ({ amount, timestamp: Date.now() })
const post = (key: string, sent: object) =>
  postJson(app, '/transactions', sent, { 'idempotency-key': key })
const ready = async () => (await app.inject({ method: 'GET', url: '/ready' })).statusCode

describe('REDIS_WAIT_REPLICAS=1', () => {
  it('answers 201 only once the replica has the write, and says "may or may not" when it does not confirm', async () => {
    expect((await post('first', body(1))).statusCode).toBe(201)
    replica.pause()
    const second = body(2)
    const third = body(4)
    try {
      // Done on the master, not confirmed by the replica in time: it may or may not count.
      const unconfirmed = await post('second', second)
      expect(unconfirmed.statusCode).toBe(503)
      expect(unconfirmed.json().detail).toMatch(/may or may not/)
      // From then on the shard cannot confirm writes: refused at once, nothing done, not ready.
      const refused = await post('third', third)
      expect(refused.statusCode).toBe(503)
      expect(refused.json().detail).toMatch(/nothing was done/)
      expect(await ready()).toBe(503)
    } finally {
      replica.resume()
    }
    await until(async () => (await ready()) === 200, 5_000)
    // The retries: the unconfirmed one was done, and is a replay; the refused one is done now.
    const retried = await post('second', second)
    expect(retried.statusCode).toBe(201)
    expect(retried.headers['idempotent-replayed']).toBe('true')
    const again = await post('third', third)
    expect(again.statusCode).toBe(201)
    expect(again.headers['idempotent-replayed']).toBeUndefined()
    const statistics = (await app.inject({ method: 'GET', url: '/statistics' })).json()
    expect(statistics).toMatchObject({ count: 3, sum: 7 })
    // What was answered 201 is on the replica too.
    expect(await command(replica.url, 'DBSIZE')).toBe(await command(master.url, 'DBSIZE'))
  }, 20_000)
})
