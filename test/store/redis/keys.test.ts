import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { connectRedis } from '../../../src/store/redis/client.js'
import { ROLLUP_ENTRIES } from '../../../src/store/redis/layout.js'
import { RedisStore, type RedisStoreOptions } from '../../../src/store/redis/store.js'
import type { Transaction } from '../../../src/store/store.js'
import { FakeClock } from '../../support/fake-clock.js'
import { deleteKeys, REDIS_URL, silent, waitUntilReady } from '../../support/stores.js'

const T = 1_700_000_000_005 // 5 ms into a 10 ms block
const PREFIX = `test:keys:${process.pid}:${Date.now()}:`
const redis = new Redis(REDIS_URL)

afterAll(async () => {
  await deleteKeys(PREFIX)
  redis.disconnect()
})

async function keys(prefix = PREFIX): Promise<string[]> {
  const found: string[] = []
  let cursor = '0'
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
    found.push(...batch)
    cursor = next
  } while (cursor !== '0')
  return found.sort()
}

describe('the Redis store in Redis', () => {
  it('keeps a fixed number of keys however many transactions arrive, each block key expiring', async () => {
    const clock = new FakeClock(T)
    const store = new RedisStore({
      client: connectRedis({ url: REDIS_URL, cluster: false, timeoutMs: 5_000 }),
      prefix: PREFIX,
      clock: clock.read,
    })
    store.connect(silent)
    await waitUntilReady(store)
    const batch = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ amount: (i % 1000) / 100, timestamp: T - (i % 5) }))

    await store.record(batch(10))
    const few = await keys()
    // The sketch hashes of 100 ms and more, and the sum, are hash tables from their first write (a
    // field is found by hashing, not by scanning); the 1 ms blocks' many small ones are listpacks.
    const encodings = Object.fromEntries(
      await Promise.all(
        few
          .filter((key) => /:q(\d:\d+|s)$/.test(key))
          .map(async (key) => [
            key.replace(/^.*:(q\w)[^:]*(:\d+)?$/, '$1'),
            await redis.object('ENCODING', key),
          ]),
      ),
    )
    expect(encodings).toEqual({
      q1: 'listpack',
      q2: 'hashtable',
      q3: 'hashtable',
      q4: 'hashtable',
      qs: 'hashtable',
    })
    await store.record(batch(20_000))
    const many = await keys()
    expect(many).toEqual(few) // the same keys: no key, list or field per transaction
    // The meta hash; the writer's partition: its count of writes, the sorted set of partitions,
    // one hash for the 10 ms block and one for the second, and for the quantiles one hash per
    // level holding the sketches of its group of blocks and the sum of its whole seconds (its
    // pointers are written only when it frees sketches early, under its budget).
    expect(many).toHaveLength(1 + 2 + 2 + 4 + 1)
    for (const key of many) {
      const ttl = await redis.pttl(key)
      if (key.endsWith(':meta')) expect(ttl).toBe(-1)
      else expect(ttl).toBeGreaterThan(0)
    }
    expect(await store.statistics()).toMatchObject({ count: 20_010 })
    await store.close()
  })

  it("expires every key but the meta hash of a store with dimensions, the script's own writes too", async () => {
    const clock = new FakeClock(T)
    const prefix = `${PREFIX}expiring:`
    const store = new RedisStore({
      client: connectRedis({ url: REDIS_URL, cluster: false, timeoutMs: 5_000 }),
      prefix,
      clock: clock.read,
      dimensions: ['merchant'],
      dimensionMaxValues: 2,
    })
    store.connect(silent)
    await waitUntilReady(store)
    const sent = [
      ...['m-1', 'm-2', 'm-3', undefined].map((merchant, i) => ({
        amount: i + 1,
        timestamp: T - i,
        merchant,
      })),
      // Near the window's edge: left to the script, which adds it to the blocks in Lua, in
      // hashes of its own making.
      { amount: 9, timestamp: T - 60_000 + 100, merchant: 'm-1' },
      // More deltas of one value in one second than its rollup holds: that second spills to
      // the value's hashes of blocks.
      ...Array.from({ length: ROLLUP_ENTRIES + 1 }, (_, i) => ({
        amount: i,
        timestamp: T - 300 - i,
        merchant: 'm-1',
      })),
    ] as Transaction[]
    expect(await store.record(sent)).toEqual(sent.map(() => 'stored'))
    clock.advance(1_500)
    await store.record([{ amount: 5, timestamp: T - 1_200, merchant: 'm-2' } as Transaction])
    const written = await keys(prefix)
    // A spilled second's fine hash, the overflow's and the missing's, the rollups' heads and entries,
    // the tracked values.
    for (const kind of [':v1:m-1:f:', ':o1:', ':m1:', ':u1:', ':e1:', ':d1']) {
      expect(written.some((key) => key.includes(kind))).toBe(true)
    }
    for (const key of written) {
      const ttl = await redis.pttl(key)
      if (key.endsWith(':meta')) expect(ttl).toBe(-1)
      else expect({ key, expires: ttl > 0 }).toEqual({ key, expires: true })
    }
    await store.close()
  })

  it('runs on one client the record script of each store, whatever features each keeps', async () => {
    const clock = new FakeClock(T)
    const client = connectRedis({ url: REDIS_URL, cluster: false, timeoutMs: 5_000 })
    const open = async (name: string, options: Partial<RedisStoreOptions>) => {
      const store = new RedisStore({
        client,
        prefix: `${PREFIX}${name}:`,
        clock: clock.read,
        ...options,
      })
      store.connect(silent)
      await waitUntilReady(store)
      return store
    }
    const withDimensions = await open('withDimensions', { dimensions: ['merchant'] })
    // Defined last on the client: a script that keeps neither sketches nor dimensions.
    const plain = await open('plain', { quantiles: false })

    await withDimensions.record([{ amount: 2.5, timestamp: T, merchant: 'm-1' } as Transaction])
    await plain.record([{ amount: 4, timestamp: T }])

    const dimensionValue = { dimension: 'merchant', value: 'm-1' }
    expect(await withDimensions.statistics({ dimensionValue })).toMatchObject({
      count: 1,
      sum: 2.5,
    })
    expect(await withDimensions.statistics({ quantiles: [0.5] })).toMatchObject({ count: 1 })
    expect(await plain.statistics()).toMatchObject({ count: 1, sum: 4 })
    await withDimensions.close()
  })
})
