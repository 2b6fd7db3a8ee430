import { describe, expect, it } from 'vitest'
import { RollingWindow } from '../../../src/core/window/window.js'
import { FakeClock } from '../../support/fake-clock.js'

const T = 1_700_000_000_000

function setup(options: { windowMs?: number; clockSkewMs?: number } = {}) {
  const clock = new FakeClock(T)
  const window = new RollingWindow({ ...options, clock: clock.read })
  return { clock, window }
}

describe('RollingWindow', () => {
  it('reports zeros when empty', () => {
    const { window } = setup()
    expect(window.snapshot()).toEqual({ sum: 0, avg: 0, max: 0, min: 0, count: 0 })
  })

  it('reports one transaction', () => {
    const { window } = setup()
    expect(window.record(12.3, T)).toBe('stored')
    expect(window.snapshot()).toEqual({ sum: 12.3, avg: 12.3, max: 12.3, min: 12.3, count: 1 })
  })

  it('excludes now - 60000 and includes now - 59999', () => {
    const { window } = setup()
    expect(window.record(1, T - 60_000)).toBe('tooOld')
    expect(window.record(2, T - 59_999)).toBe('stored')
    expect(window.snapshot()).toMatchObject({ count: 1, sum: 2 })
  })

  it('drops a transaction at the exact millisecond it turns 60 s old', () => {
    const { clock, window } = setup()
    window.record(5, T - 500)
    window.record(7, T)
    clock.set(T - 500 + 59_999)
    expect(window.snapshot()).toMatchObject({ count: 2, sum: 12, min: 5 })
    clock.advance(1)
    expect(window.snapshot()).toMatchObject({ count: 1, sum: 7, min: 7, max: 7 })
    clock.set(T + 59_999)
    expect(window.snapshot()).toMatchObject({ count: 1 })
    clock.advance(1)
    expect(window.snapshot()).toMatchObject({ count: 0, sum: 0 })
  })

  it('counts late arrivals in any order', () => {
    const { window } = setup()
    for (const age of [30_000, 59_999, 1, 45_123, 0, 12]) window.record(age, T - age)
    expect(window.snapshot()).toEqual({
      sum: 135_135,
      avg: 22_522.5,
      max: 59_999,
      min: 0,
      count: 6,
    })
  })

  it('stores future transactions within the skew and counts them from their instant', () => {
    const { clock, window } = setup({ clockSkewMs: 2_000 })
    expect(window.record(9, T + 2_000)).toBe('stored')
    expect(window.record(9, T + 2_001)).toBe('tooFarInFuture')
    clock.set(T + 1_999)
    expect(window.snapshot().count).toBe(0)
    clock.set(T + 2_000)
    expect(window.snapshot()).toMatchObject({ count: 1, sum: 9 })
  })

  it('refuses every future timestamp with a zero skew', () => {
    const { window } = setup({ clockSkewMs: 0 })
    expect(window.record(1, T + 1)).toBe('tooFarInFuture')
    expect(window.record(1, T)).toBe('stored')
  })

  it('adds in exact decimal, independent of order', () => {
    const { window } = setup()
    window.record(0.1, T)
    window.record(0.2, T)
    expect(window.snapshot().sum).toBe(0.3)
    window.clear()
    for (const amount of [1e20, 1, -1e20]) window.record(amount, T)
    expect(window.snapshot().sum).toBe(1)
    window.clear()
    for (let i = 0; i < 10_000; i++) window.record(0.01, T - (i % 60_000))
    expect(window.snapshot()).toMatchObject({ sum: 100, avg: 0.01, count: 10_000 })
  })

  it('rounds the mean once from the exact sum', () => {
    const { window } = setup()
    for (const amount of [1, 1, 1e-18]) window.record(amount, T)
    // (2 + 1e-18) / 3 rounds to the double nearest 0.666…667, not (2/3) computed from a rounded sum
    expect(window.snapshot().avg).toBe(2 / 3)
    window.clear()
    for (const amount of [0.1, 0.2, 0.4]) window.record(amount, T)
    expect(window.snapshot()).toMatchObject({ sum: 0.7, avg: Number('0.2333333333333333333') })
  })

  it('keeps min and max exact, negatives included', () => {
    const { window } = setup()
    for (const amount of [-5.5, 3.25, 1e21, -1e21, 0.000001]) window.record(amount, T)
    expect(window.snapshot()).toMatchObject({ max: 1e21, min: -1e21, count: 5 })
  })

  it('treats -0 as 0', () => {
    const { window } = setup()
    window.record(-0, T)
    const { min, max, sum } = window.snapshot()
    expect(Object.is(min, 0) && Object.is(max, 0) && Object.is(sum, 0)).toBe(true)
  })

  it('refuses amounts outside the exact domain and stores nothing', () => {
    const { window } = setup()
    for (const amount of [
      Number.NaN,
      Infinity,
      -Infinity,
      1.0000000000000001e21,
      -2e21,
      1e-19,
      5e-324,
    ]) {
      expect(window.record(amount, T)).toBe('invalidAmount')
    }
    expect(window.record(1e-18, T)).toBe('stored')
    expect(window.record(0.012345678901234567, T)).toBe('stored')
    expect(window.snapshot()).toMatchObject({ count: 2, min: 1e-18 })
  })

  it('refuses timestamps that are not non-negative safe integers', () => {
    const { window } = setup()
    for (const timestamp of [T + 0.5, Number.NaN, -1, 2 ** 53, Infinity]) {
      expect(window.record(1, timestamp)).toBe('invalidTimestamp')
    }
    expect(window.snapshot().count).toBe(0)
  })

  it('stays finite at the largest amounts', () => {
    const { window } = setup()
    for (let i = 0; i < 1000; i++) window.record(1e21, T - i)
    const stats = window.snapshot()
    expect(stats).toMatchObject({ sum: 1e24, avg: 1e21, count: 1000 })
  })

  it('shows nothing stale after an idle gap of hours and many wraps', () => {
    const { clock, window } = setup()
    window.record(4, T)
    clock.advance(3 * 3_600_000 + 17)
    expect(window.snapshot().count).toBe(0)
    window.record(6, clock.current - 10)
    expect(window.snapshot()).toMatchObject({ count: 1, sum: 6 })
    // exactly a whole number of ring turns later the same slots are reused, never re-read
    clock.advance(62_001 * 1000)
    expect(window.snapshot().count).toBe(0)
  })

  it('holds still when the clock steps back, so nothing returns or counts twice', () => {
    const { clock, window } = setup()
    window.record(1, T - 59_000)
    window.record(2, T)
    clock.advance(1_500) // the first transaction has left
    expect(window.snapshot()).toMatchObject({ count: 1, sum: 2 })
    clock.set(T - 5_000) // NTP step back
    expect(window.snapshot()).toMatchObject({ count: 1, sum: 2 })
    expect(window.record(3, T - 5_000)).toBe('stored')
    expect(window.snapshot()).toMatchObject({ count: 2, sum: 5 })
    clock.set(T + 1_500)
    expect(window.snapshot()).toMatchObject({ count: 2, sum: 5 })
  })

  it('starts afresh when the clock steps back by a whole window or more', () => {
    const { clock, window } = setup()
    window.record(2, T)
    clock.set(T - 60_000)
    expect(window.snapshot().count).toBe(0)
    expect(window.record(3, T - 60_000)).toBe('stored')
    clock.set(T - 1)
    expect(window.snapshot()).toMatchObject({ count: 1, sum: 3 })
    clock.set(T) // the transaction at T was forgotten with the old window
    expect(window.snapshot()).toMatchObject({ count: 0 })
  })

  it('works with windows that are not whole seconds', () => {
    const { clock, window } = setup({ windowMs: 2_345, clockSkewMs: 0 })
    window.record(1, T - 2_344)
    window.record(1, T - 2_345)
    expect(window.snapshot().count).toBe(1)
    clock.advance(1)
    expect(window.snapshot().count).toBe(0)
  })

  it('rejects invalid options', () => {
    expect(() => new RollingWindow({ windowMs: 0 })).toThrow(RangeError)
    expect(() => new RollingWindow({ windowMs: 1.5 })).toThrow(RangeError)
    expect(() => new RollingWindow({ clockSkewMs: -1 })).toThrow(RangeError)
  })

  it('answers repeated snapshots within one millisecond alike, and sees every record', () => {
    const { clock, window } = setup()
    window.record(1, T)
    const first = window.snapshot()
    expect(window.snapshot()).toEqual(first)
    window.record(2, T)
    expect(window.snapshot()).toMatchObject({ count: 2, sum: 3 })
    window.clear()
    expect(window.snapshot().count).toBe(0)
    window.record(4, T - 59_999)
    expect(window.snapshot().count).toBe(1)
    clock.advance(1)
    expect(window.snapshot().count).toBe(0)
  })

  it('gives one point per second that meets the window, edges cut exactly', () => {
    const { window } = setup({ windowMs: 3_000, clockSkewMs: 0 })
    // T is a whole second: the window (T - 3000, T] meets seconds T/1000 - 3 … T/1000
    window.record(1.5, T - 2_999)
    window.record(2.25, T - 2_001)
    window.record(4, T - 1)
    window.record(8, T)
    const s = T / 1000
    expect(window.series()).toEqual({
      at: T,
      windowMs: 3_000,
      points: [
        { second: s - 3, count: 2, sum: 3.75, min: 1.5, max: 2.25 },
        { second: s - 2, count: 0, sum: 0, min: 0, max: 0 },
        { second: s - 1, count: 1, sum: 4, min: 4, max: 4 },
        { second: s, count: 1, sum: 8, min: 8, max: 8 },
      ],
    })
    expect(new RollingWindow({ clock: () => T + 999 }).series().points).toHaveLength(60)
  })

  it('empties on clear', () => {
    const { window } = setup()
    window.record(1, T)
    window.clear()
    expect(window.snapshot().count).toBe(0)
  })
})
