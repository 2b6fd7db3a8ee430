import { afterEach, describe, expect, it } from 'vitest'
import type { TransactionStore } from '../../src/store/store.js'
import { FakeClock } from '../support/fake-clock.js'
import { openStore, STORE_KINDS, type StoreOptions } from '../support/stores.js'

const T = 1_700_000_000_000
const EMPTY = { sum: 0, avg: 0, max: 0, min: 0, count: 0 }

/** The window's contract, through the store interface, for every store: one suite. */
describe.each(STORE_KINDS)('the %s store', (kind) => {
  let store: TransactionStore
  let clock: FakeClock

  async function open(options: Partial<StoreOptions> = {}) {
    clock = new FakeClock(T)
    store = await openStore(kind, { clock: clock.read, ...options })
  }

  async function record(amount: number, timestamp: number) {
    const [outcome] = await store.record([{ amount, timestamp }])
    return outcome
  }

  afterEach(async () => {
    await store.close()
  })

  it('reports zeros when empty, and one transaction exactly', async () => {
    await open()
    expect(await store.statistics()).toEqual(EMPTY)
    expect(await record(12.3, T)).toBe('stored')
    expect(await store.statistics()).toEqual({
      sum: 12.3,
      avg: 12.3,
      max: 12.3,
      min: 12.3,
      count: 1,
    })
  })

  it('judges each transaction of a batch, in order, storing only the stored', async () => {
    await open()
    const outcomes = await store.record([
      { amount: 1, timestamp: T - 60_000 },
      { amount: 2, timestamp: T - 59_999 },
      { amount: 3, timestamp: T + 2_001 },
      { amount: 1e-19, timestamp: T },
      { amount: 1e-19, timestamp: T - 60_000 },
      { amount: 4, timestamp: -1 },
      { amount: 5, timestamp: T + 2_000 },
    ])
    expect(outcomes).toEqual([
      'tooOld',
      'stored',
      'tooFarInFuture',
      'invalidAmount',
      'tooOld',
      'invalidTimestamp',
      'stored',
    ])
    expect(await store.statistics()).toEqual({ sum: 2, avg: 2, max: 2, min: 2, count: 1 })
    clock.set(T + 2_000) // the future one counts from its own instant
    expect(await store.statistics()).toEqual({ sum: 5, avg: 5, max: 5, min: 5, count: 1 })
  })

  it('drops a transaction at the exact millisecond it turns 60 s old', async () => {
    await open()
    await store.record([
      { amount: 5, timestamp: T - 500 },
      { amount: 7, timestamp: T },
    ])
    clock.set(T - 500 + 59_999)
    expect(await store.statistics()).toMatchObject({ count: 2, sum: 12, min: 5 })
    clock.advance(1)
    expect(await store.statistics()).toMatchObject({ count: 1, sum: 7, min: 7, max: 7 })
    clock.set(T + 59_999)
    expect(await store.statistics()).toMatchObject({ count: 1 })
    clock.advance(1)
    expect(await store.statistics()).toEqual(EMPTY)
  })

  it('adds in exact decimal, whatever the order, and rounds the mean once', async () => {
    await open()
    for (const amount of [1e20, 0.1, 0.2, -1e20, 0.3]) await record(amount, T)
    expect(await store.statistics()).toMatchObject({ sum: 0.6, count: 5, avg: 0.12 })
    await store.clear()
    await store.record([0.1, 0.1, 0.1].map((amount) => ({ amount, timestamp: T })))
    expect(await store.statistics()).toEqual({ sum: 0.3, avg: 0.1, max: 0.1, min: 0.1, count: 3 })
  })

  it('carries limbs exactly across many amounts in one block', async () => {
    await open()
    const batch = Array.from({ length: 2_000 }, (_, i) => ({
      amount: i % 2 === 0 ? 999_999_999.999_999_9 : -0.000_000_001,
      timestamp: T - (i % 3),
    }))
    await store.record(batch)
    const exact = 1_000 * 999_999_999.999_999_9 - 1_000 * 0.000_000_001
    expect(await store.statistics()).toMatchObject({
      count: 2_000,
      sum: Number(exact.toPrecision(17)),
      min: -0.000_000_001,
      max: 999_999_999.999_999_9,
    })
  })

  it('keeps min and max exact, negatives and -0 included, and stays finite at the largest amounts', async () => {
    await open()
    for (const amount of [-0, 0.30000000000000004, -5.25, 1e21, 1e21]) await record(amount, T)
    const statistics = await store.statistics()
    expect(statistics).toMatchObject({ min: -5.25, max: 1e21, count: 5, sum: 2e21 })
    expect(Object.is(statistics.min, -0)).toBe(false)
  })

  it('holds still when the clock steps back, and starts afresh after a whole window', async () => {
    await open()
    await record(1, T)
    clock.set(T - 1_000)
    expect(await record(2, T - 60_000)).toBe('tooOld') // judged at the latest instant, T
    expect(await store.statistics()).toMatchObject({ count: 1 })
    clock.set(T - 60_000)
    expect(await store.statistics()).toEqual(EMPTY)
    expect(await record(3, T - 60_000)).toBe('stored')
  })

  it('shows nothing stale after an idle gap of hours', async () => {
    await open()
    await record(1, T)
    clock.advance(5 * 3_600_000)
    expect(await store.statistics()).toEqual(EMPTY)
    await record(2, clock.current)
    expect(await store.statistics()).toMatchObject({ count: 1, sum: 2 })
  })

  it('works with windows that are not whole seconds', async () => {
    await open({ windowMs: 1_500, clockSkewMs: 0 })
    expect(await record(1, T - 1_499)).toBe('stored')
    expect(await record(1, T - 1_500)).toBe('tooOld')
    expect(await record(1, T + 1)).toBe('tooFarInFuture')
    clock.advance(1)
    expect(await store.statistics()).toEqual(EMPTY)
  })

  it('gives one point per second that meets the window, edges cut exactly', async () => {
    await open({ windowMs: 3_000 })
    clock.set(T + 500)
    await store.record([
      { amount: 1, timestamp: T - 2_499 },
      { amount: 2, timestamp: T - 1 },
      { amount: 3, timestamp: T + 500 },
    ])
    const series = await store.series()
    expect(series.at).toBe(T + 500)
    expect(series.windowMs).toBe(3_000)
    expect(series.points).toEqual([
      { second: T / 1000 - 3, count: 1, sum: 1, min: 1, max: 1 },
      { second: T / 1000 - 2, count: 0, sum: 0, min: 0, max: 0 },
      { second: T / 1000 - 1, count: 1, sum: 2, min: 2, max: 2 },
      { second: T / 1000, count: 1, sum: 3, min: 3, max: 3 },
    ])
  })

  it('empties on clear, and stores again after', async () => {
    await open()
    await record(1, T)
    await store.clear()
    expect(await store.statistics()).toEqual(EMPTY)
    await record(2, T)
    expect(await store.statistics()).toMatchObject({ count: 1, sum: 2 })
  })

  it('answers an empty batch without storing anything', async () => {
    await open()
    expect(await store.record([])).toEqual([])
    expect(await store.statistics()).toEqual(EMPTY)
    expect(await store.ready()).toBe(true)
  })
})
