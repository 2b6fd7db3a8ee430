import fc from 'fast-check'
import { afterEach, expect, it, vi } from 'vitest'
import { ENTRY_OVERHEAD_BYTES } from '../../src/core/idempotency/idempotency.js'
import type { MemoryStore } from '../../src/store/memory.js'
import { shardOfKey } from '../../src/store/redis/shards.js'
import type { Transaction, TransactionStore } from '../../src/store/store.js'
import { FakeClock } from '../support/fake-clock.js'
import { OracleWindow } from '../support/oracle.js'
import {
  describeStores,
  openStore,
  prefixOf,
  STORE_KINDS,
  type StoreOptions,
} from '../support/stores.js'

const T = 1_700_000_000_000
const WINDOW_MS = 60_000
const SKEW_MS = 2_000

describeStores(STORE_KINDS, (kind) => {
  const opened: TransactionStore[] = []
  let clock: FakeClock

  async function open(options: Partial<StoreOptions> = {}, sharing?: TransactionStore) {
    clock ??= new FakeClock(T)
    const store = await openStore(
      kind,
      { clock: clock.read, windowMs: WINDOW_MS, clockSkewMs: SKEW_MS, ...options },
      sharing && prefixOf(sharing),
    )
    opened.push(store)
    return store
  }

  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close()
    clock = new FakeClock(T)
  })

  const once = (key: string, fingerprint = 'body-1', client = 'client-a') => ({
    key,
    fingerprint,
    client,
  })

  it('records a request once: sent again with its key, it gets the same outcomes, counted once', async () => {
    const store = await open()
    const batch: Transaction[] = [
      { amount: 1.5, timestamp: T },
      { amount: 2, timestamp: T - WINDOW_MS },
      { amount: 3, timestamp: T + SKEW_MS + 1 },
    ]
    const first = await store.recordOnce(batch, once('a'))
    expect(first).toEqual({
      kind: 'recorded',
      outcomes: ['stored', 'tooOld', 'tooFarInFuture'],
      replayed: false,
    })
    clock.advance(1_000)
    // The outcomes it had, although now the last transaction would be stored.
    expect(await store.recordOnce(batch, once('a'))).toEqual({ ...first, replayed: true })
    expect(await store.statistics()).toMatchObject({ count: 1, sum: 1.5 })
    // Another key is another request, judged now.
    expect(await store.recordOnce(batch, once('b'))).toEqual({
      kind: 'recorded',
      outcomes: ['stored', 'tooOld', 'stored'],
      replayed: false,
    })
    // (The stored future one counts once its instant comes.)
    expect(await store.statistics()).toMatchObject({ count: 2, sum: 3 })
  })

  it('refuses a key sent with another body, doing nothing', async () => {
    const store = await open()
    await store.recordOnce([{ amount: 1, timestamp: T }], once('k', 'body-1'))
    expect(await store.recordOnce([{ amount: 2, timestamp: T }], once('k', 'body-2'))).toEqual({
      kind: 'mismatch',
    })
    expect(await store.statistics()).toMatchObject({ count: 1, sum: 1 })
  })

  it('remembers a key for the window plus the skew, after which its request is too old anyway', async () => {
    const store = await open()
    // The latest a transaction can be: the skew ahead of now.
    const latest = [{ amount: 7, timestamp: T + SKEW_MS }]
    expect(await store.recordOnce(latest, once('late'))).toMatchObject({ replayed: false })
    clock.advance(WINDOW_MS + SKEW_MS - 1)
    expect(await store.recordOnce(latest, once('late'))).toMatchObject({ replayed: true })
    expect(await store.statistics()).toMatchObject({ count: 1 })
    clock.advance(1)
    // Forgotten: recorded afresh, and too old, so still counted once (here: no longer at all).
    expect(await store.recordOnce(latest, once('late'))).toEqual({
      kind: 'recorded',
      outcomes: ['tooOld'],
      replayed: false,
    })
    expect(await store.statistics()).toMatchObject({ count: 0 })
  })

  it('refuses a new key, doing nothing, while the budget is spent, and says when it has room', async () => {
    // The budget is per shard: three keys that one shard remembers.
    const shards = kind === 'redis, 3 shards' ? 3 : 1
    const [k1, k2, k3] = Array.from({ length: 100 }, (_, i) => `key-${i}`).filter(
      (key) => shardOfKey(key, shards) === 0,
    ) as [string, string, string]
    const cost = (key: string) => ENTRY_OVERHEAD_BYTES + key.length + 'body-1'.length + 1
    const store = await open({ idempotencyBudgetBytes: cost(k1) + cost(k2) })
    const one = [{ amount: 1, timestamp: T }]
    await store.recordOnce(one, once(k1))
    clock.advance(10_000)
    await store.recordOnce(one, once(k2))
    const full = await store.recordOnce(one, once(k3))
    expect(full.kind).toBe('full')
    if (full.kind !== 'full') return
    // Room once the first key is forgotten: the retention after it was remembered, at most.
    expect(full.retryAfterMs).toBeGreaterThan(0)
    expect(full.retryAfterMs).toBeLessThanOrEqual(WINDOW_MS + SKEW_MS)
    // Keys already remembered are still answered: the budget never forgets one early.
    expect(await store.recordOnce(one, once(k1))).toMatchObject({ replayed: true })
    expect(await store.statistics()).toMatchObject({ count: 2 })
    // Requests without a key are not held by it.
    expect(await store.record(one)).toEqual(['stored'])
    clock.advance(full.retryAfterMs)
    expect(await store.recordOnce(one, once(k3))).toMatchObject({ replayed: false })
  })

  it("holds each client to its share: one client's keys never take another's room", async () => {
    const shards = kind === 'redis, 3 shards' ? 3 : 1
    const keys = Array.from({ length: 200 }, (_, i) => `key-${i}`).filter(
      (key) => shardOfKey(key, shards) === 0,
    )
    const cost = ENTRY_OVERHEAD_BYTES + 'key-10'.length + 'body-1'.length + 1
    const store = await open({ idempotencyClientShareBytes: cost * 3 })
    const one = [{ amount: 1, timestamp: T }]
    for (const key of keys.slice(0, 3)) {
      expect(await store.recordOnce(one, once(key, 'body-1', 'a'))).toMatchObject({
        replayed: false,
      })
    }
    expect((await store.recordOnce(one, once(keys[3] as string, 'body-1', 'a'))).kind).toBe('full')
    expect(await store.recordOnce(one, once(keys[4] as string, 'body-1', 'b'))).toMatchObject({
      replayed: false,
    })
    expect(await store.statistics()).toMatchObject({ count: 4 })
  })

  if (kind === 'memory') {
    it('forgets expired keys on a timer once connected, with no request', async () => {
      vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] })
      try {
        const store = (await open()) as MemoryStore
        store.connect()
        await store.recordOnce([{ amount: 1, timestamp: T }], once('k'))
        expect(store.idempotencyBytes).toBeGreaterThan(0)
        clock.advance(WINDOW_MS + SKEW_MS + 10_000)
        vi.advanceTimersByTime(1_000)
        expect(store.idempotencyBytes).toBe(0)
      } finally {
        vi.useRealTimers()
      }
    })
  }

  if (kind !== 'memory') {
    it('remembers a key for every instance that shares the window', async () => {
      const first = await open()
      const second = await open({}, first)
      const one = [{ amount: 4.25, timestamp: T }]
      await first.recordOnce(one, once('shared'))
      expect(await second.recordOnce(one, once('shared'))).toMatchObject({ replayed: true })
      expect(await second.statistics()).toMatchObject({ count: 1, sum: 4.25 })
    })
  }

  it('counts each key once, whatever the retries and their order (oracle)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            key: fc.integer({ min: 0, max: 7 }),
            amount: fc.integer({ min: -10_000, max: 10_000 }).map((cents) => cents / 100),
            offset: fc.integer({ min: -1_000, max: 1_000 }),
            pause: fc.integer({ min: 0, max: 500 }),
          }),
          { minLength: 1, maxLength: 30 },
        ),
        async (requests) => {
          clock = new FakeClock(T)
          const store = await open()
          const oracle = new OracleWindow(WINDOW_MS, SKEW_MS, clock.read)
          const firstBody = new Map<number, string>()
          for (const { key, amount, offset, pause } of requests) {
            clock.advance(pause)
            const body = `${amount}@${T + offset}`
            const result = await store.recordOnce(
              [{ amount, timestamp: T + offset }],
              once(`key-${key}`, body),
            )
            const seen = firstBody.get(key)
            if (seen === undefined) {
              firstBody.set(key, body)
              oracle.record(amount, T + offset)
              expect(result).toMatchObject({ replayed: false })
            } else {
              expect(result.kind).toBe(seen === body ? 'recorded' : 'mismatch')
            }
          }
          expect(await store.statistics()).toEqual(oracle.snapshot())
        },
      ),
      { numRuns: kind === 'memory' ? 100 : 15 },
    )
  })
})
