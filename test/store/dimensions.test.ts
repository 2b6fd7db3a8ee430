import { afterEach, expect, it } from 'vitest'
import type { Transaction, TransactionStore } from '../../src/store/store.js'
import { FakeClock } from '../support/fake-clock.js'
import { OracleWindow } from '../support/oracle.js'
import { describeStores, openStore, STORE_KINDS } from '../support/stores.js'

const WINDOW_MS = 60_000
const SKEW_MS = 2_000

describeStores(STORE_KINDS, (kind) => {
  let store: TransactionStore
  afterEach(() => store.close())

  it('at the bound, keeps the identities: listed + other + missing is the window, a complete value is whole', async () => {
    const clock = new FakeClock()
    store = await openStore(kind, {
      windowMs: WINDOW_MS,
      clockSkewMs: SKEW_MS,
      clock: clock.read,
      dimensions: ['merchant'],
      dimensionMaxValues: 2,
    })
    // The truth: every value tracked.
    const truth = new OracleWindow(WINDOW_MS, SKEW_MS, clock.read, {
      names: ['merchant'],
      maxValues: Number.POSITIVE_INFINITY,
    })
    for (let round = 0; round < 6; round++) {
      const batch = Array.from({ length: 50 }, (_, i) => ({
        amount: ((i * 37 + round) % 1000) / 100,
        timestamp: clock.current - ((i * 7919) % 59_000),
        ...(i % 9 === 0 ? {} : { merchant: `m-${(i * round) % 7}` }),
      }))
      await store.record(batch)
      for (const { amount, timestamp, ...fields } of batch) truth.record(amount, timestamp, fields)
      clock.advance(5_000)
    }
    const window = await store.statistics()
    expect(window).toEqual(truth.snapshot())
    const breakdown = await store.breakdown({ dimension: 'merchant', order: 'count', limit: 3 })
    const parts = [...breakdown.values, breakdown.other, breakdown.missing]
    // Amounts in cents, far from a double's limits: sums of parts are exact here.
    expect(parts.reduce((n, part) => n + part.count, 0)).toBe(window.count)
    expect(Math.round(parts.reduce((n, part) => n + part.sum * 100, 0))).toBe(
      Math.round(window.sum * 100),
    )
    expect(Math.min(...parts.filter((p) => p.count > 0).map((p) => p.min))).toBe(window.min)
    expect(Math.max(...parts.filter((p) => p.count > 0).map((p) => p.max))).toBe(window.max)
    expect(breakdown.missing).toEqual(truth.breakdown('merchant', 'count', 3).missing)
    for (const listed of breakdown.values) {
      const { incomplete, ...whole } = truth.valueStatistics('merchant', listed.value)
      const { value, incomplete: partial, ...own } = listed
      if (partial) expect(own.count).toBeLessThanOrEqual(whole.count)
      else expect(own).toEqual(whole)
      expect(await store.statistics({ dimensionValue: { dimension: 'merchant', value } })).toEqual({
        ...own,
        incomplete: partial,
      })
    }
    // Some values could not be tracked: every store says so somewhere.
    const answers = await Promise.all(
      Array.from({ length: 7 }, (_, m) =>
        store.statistics({ dimensionValue: { dimension: 'merchant', value: `m-${m}` } }),
      ),
    )
    expect(answers.some((answer) => answer.incomplete)).toBe(true)
  })

  if (kind !== 'redis, 3 shards') {
    it('tracks the values of requests sharing one call as it would one after the other', async () => {
      const clock = new FakeClock()
      store = await openStore(kind, {
        clock: clock.read,
        dimensions: ['merchant'],
        dimensionMaxValues: 2,
      })
      const at = clock.current
      // One turn: on Redis, one script call with three groups (the keyless one, then each key).
      await Promise.all([
        store.record([{ amount: 1, timestamp: at, merchant: 'a' } as Transaction]),
        store.recordOnce([{ amount: 2, timestamp: at, merchant: 'b' } as Transaction], {
          key: 'k-b',
          fingerprint: 'b',
          client: 'c',
        }),
        store.recordOnce([{ amount: 3, timestamp: at, merchant: 'c' } as Transaction], {
          key: 'k-c',
          fingerprint: 'c',
          client: 'c',
        }),
      ])
      const value = (v: string) =>
        store.statistics({ dimensionValue: { dimension: 'merchant', value: v } })
      expect(await value('a')).toMatchObject({ count: 1, sum: 1, incomplete: false })
      expect(await value('b')).toMatchObject({ count: 1, sum: 2, incomplete: false })
      expect(await value('c')).toMatchObject({ count: 0, incomplete: true })
      // a and b leave the window; c, tracked now, says its overflowed transaction may be missing.
      clock.advance(59_999)
      await store.record([{ amount: 4, timestamp: at + 59_999, merchant: 'a' } as Transaction])
      clock.advance(1)
      await store.record([{ amount: 5, timestamp: at + 60_000, merchant: 'c' } as Transaction])
      expect(await value('c')).toMatchObject({ count: 1, sum: 5, incomplete: false })
      expect(await value('a')).toMatchObject({ count: 1, sum: 4, incomplete: false })
    })
  }

  it('counts a late arrival into seconds a breakdown has already summed', async () => {
    const clock = new FakeClock(1_800_000_000_000)
    store = await openStore(kind, { clock: clock.read, dimensions: ['merchant'] })
    const at = clock.current
    const merchant = (amount: number, timestamp: number) =>
      ({ amount, timestamp, merchant: 'm' }) as Transaction
    await store.record([merchant(1, at), merchant(2, at + 1_500)])
    clock.advance(3_500)
    const query = { dimension: 'merchant', order: 'sum' as const, limit: 1 }
    expect((await store.breakdown(query)).values).toMatchObject([{ sum: 3, count: 2 }])
    // Into the seconds wholly inside the window, summed by the read above.
    await store.record([merchant(4, at + 1_700), merchant(8, at + 2_100)])
    expect((await store.breakdown(query)).values).toMatchObject([{ sum: 15, count: 4, max: 8 }])
    clock.advance(1)
    expect((await store.breakdown(query)).values).toMatchObject([{ sum: 15, count: 4 }])
    expect(
      await store.statistics({ dimensionValue: { dimension: 'merchant', value: 'm' } }),
    ).toMatchObject({
      sum: 15,
      count: 4,
    })
  })

  /**
   * A store of merchants on a fake clock, and the truth beside it: every value tracked. `record`
   * writes to both.
   */
  async function withTruth(dimensionMaxValues?: number) {
    const clock = new FakeClock(1_800_000_000_000)
    store = await openStore(kind, {
      windowMs: WINDOW_MS,
      clockSkewMs: SKEW_MS,
      clock: clock.read,
      dimensions: ['merchant'],
      ...(dimensionMaxValues === undefined ? {} : { dimensionMaxValues }),
    })
    const truth = new OracleWindow(WINDOW_MS, SKEW_MS, clock.read, {
      names: ['merchant'],
      maxValues: Number.POSITIVE_INFINITY,
    })
    const record = async (batch: Transaction[]) => {
      await store.record(batch)
      for (const { amount, timestamp, ...fields } of batch) truth.record(amount, timestamp, fields)
    }
    return { clock, truth, record }
  }

  it('keeps a value with real traffic tracked while another client sends a stream of new values', async () => {
    const { clock, truth, record } = await withTruth(10)
    const honest = () => store.statistics({ dimensionValue: { dimension: 'merchant', value: 'h' } })
    // Every second, ten values never seen before, one transaction each, ahead of the honest one.
    for (let second = 0; second < 150; second++) {
      await record(
        Array.from({ length: 10 }, (_, i) => ({
          amount: 1,
          timestamp: clock.current,
          merchant: `new-${second}-${i}`,
        })),
      )
      // The honest value: three transactions a second, a fifth of the values kept out's.
      for (const amount of [2.5, 0.75, 4]) {
        await record([{ amount, timestamp: clock.current, merchant: 'h' } as Transaction])
      }
      clock.advance(1_000)
    }
    // Tracked long since: its window whole, exact, and no longer incomplete.
    const { incomplete, ...whole } = truth.valueStatistics('merchant', 'h')
    expect(await honest()).toEqual({ ...whole, incomplete: false })
    const breakdown = await store.breakdown({ dimension: 'merchant', order: 'sum', limit: 3 })
    expect(breakdown.values[0]).toMatchObject({ value: 'h', count: whole.count, incomplete: false })
    const parts = [...breakdown.values, breakdown.other, breakdown.missing]
    expect(parts.reduce((n, part) => n + part.count, 0)).toBe((await store.statistics()).count)
  })

  it('answers exact breakdowns while the window moves second by second, its extremes leaving', async () => {
    const { clock, truth, record } = await withTruth()
    // Each value sends every few seconds; its smallest and largest amounts come early, so that
    // they leave while others stay.
    for (let second = 0; second < 40; second++) {
      await record(
        ['a', 'b', 'c'].flatMap((merchant, i) =>
          second % (i + 1) === 0
            ? [
                {
                  amount:
                    second === i ? 0.01 : second === i + 3 ? 99 : 1 + ((second * 7) % 13) / 100,
                  timestamp: clock.current + 137 * i,
                  merchant,
                } as Transaction,
              ]
            : [],
        ),
      )
      clock.advance(1_000)
    }
    for (let step = 0; step < 70; step++) {
      // Mostly the same window, whose sums slide; now and then another, whose sums are redone.
      for (const windowMs of step % 10 === 9 ? [WINDOW_MS, 30_500] : [WINDOW_MS]) {
        expect(
          await store.breakdown({ dimension: 'merchant', order: 'sum', limit: 5, windowMs }),
        ).toEqual(truth.breakdown('merchant', 'sum', 5, windowMs))
      }
      clock.advance(step % 3 === 0 ? 1_000 : 999)
    }
  })

  it('refuses a dimension it does not have, and quantiles per value', async () => {
    const clock = new FakeClock()
    store = await openStore(kind, { clock: clock.read, dimensions: ['currency'] })
    await expect(async () =>
      store.breakdown({ dimension: 'merchant', order: 'sum', limit: 1 }),
    ).rejects.toThrow(RangeError)
    await expect(async () =>
      store.statistics({
        quantiles: [0.5],
        dimensionValue: { dimension: 'currency', value: 'EUR' },
      }),
    ).rejects.toThrow(RangeError)
  })
})
