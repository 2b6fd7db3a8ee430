import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { connectRedis } from '../../../src/store/redis/client.js'
import { metaKey, shardRoots } from '../../../src/store/redis/shards.js'
import { RedisStore, type RedisStoreOptions } from '../../../src/store/redis/store.js'
import { StoreSettingsError, type Transaction } from '../../../src/store/store.js'
import { FakeClock } from '../../support/fake-clock.js'
import { deleteKeys, REDIS_URL, silent } from '../../support/stores.js'

const PREFIX = `test:settings:${process.pid}:${Date.now()}:`
const T = 1_700_000_000_000

afterAll(async () => {
  await deleteKeys(PREFIX)
})

describe('instances sharing a Redis window', () => {
  const clock = new FakeClock(T)
  const opened: RedisStore[] = []
  const open = (options: Partial<RedisStoreOptions>) => {
    const client = connectRedis({ url: REDIS_URL, cluster: false, timeoutMs: 5_000 })
    const store = new RedisStore({
      client,
      prefix: PREFIX,
      shards: 3,
      clock: clock.read,
      ...options,
    })
    opened.push(store)
    return store
  }

  afterAll(async () => {
    for (const store of opened) await store.close()
  })

  it('refuse to serve a window kept with other settings, saying which, and serve it with the same', async () => {
    const first = open({ dimensions: ['currency', 'merchant'], quantiles: false })
    await first.connect(silent)
    await first.record([{ amount: 1, timestamp: T, currency: 'EUR', merchant: 'm' } as Transaction])

    // The same dimensions in another order would write each value under the other's keys.
    for (const other of [
      { dimensions: ['merchant', 'currency'], quantiles: false as const },
      { dimensions: ['currency', 'merchant'], quantiles: {} },
      { dimensions: ['currency', 'merchant'], quantiles: false as const, windowMs: 30_000 },
    ]) {
      const second = open(other)
      const refused = second.connect(silent)
      await expect(refused).rejects.toBeInstanceOf(StoreSettingsError)
      await expect(refused).rejects.toThrow(
        /kept with other settings \(layout=\d+ window=60000 skew=2000 dimensions=currency,merchant quantiles=off\)/,
      )
      expect(await second.ready()).toBe(false)
    }

    const same = open({ dimensions: ['currency', 'merchant'], quantiles: false })
    await same.connect(silent)
    expect(await same.ready()).toBe(true)
    expect(
      await same.statistics({ dimensionValue: { dimension: 'merchant', value: 'm' } }),
    ).toMatchObject({
      count: 1,
    })
    expect(await first.statistics()).toMatchObject({ count: 1, sum: 1 })
  })

  it('refuse a window kept in an earlier layout of the keys', async () => {
    const prefix = `${PREFIX}layout:`
    const redis = new Redis(REDIS_URL)
    const [root] = shardRoots(prefix, 1)
    const earlier = 'layout=1 window=60000 skew=2000 dimensions= quantiles=off'
    await redis.hset(metaKey(root as string), 'settings', earlier)
    redis.disconnect()
    const store = new RedisStore({
      client: connectRedis({ url: REDIS_URL, cluster: false, timeoutMs: 5_000 }),
      prefix,
      clock: clock.read,
      quantiles: false,
    })
    opened.push(store)
    const refused = store.connect(silent)
    await expect(refused).rejects.toThrow(/kept with other settings \(layout=1 /)
    expect(await store.ready()).toBe(false)
  })
})
