import { describe, expect, it } from 'vitest'
import { FINE_BYTES } from '../../../src/core/dimensions/fine-second.js'
import { MAX_PAIRS, PAIR_BYTES, ValueWindows } from '../../../src/core/dimensions/value-windows.js'

const NOW = 1_700_000_000_000
const query = { dimension: 'merchant', order: 'sum' as const, limit: 10 }

function windows(maxValues: number, budgetBytes = 1 << 30) {
  return new ValueWindows({ windowMs: 60_000, clockSkewMs: 2_000, maxValues, budgetBytes })
}

describe('ValueWindows', () => {
  it('cuts a second at the window edge to the millisecond, from its pairs', () => {
    const values = windows(4)
    values.record('a', 1, NOW - 59_999, NOW)
    values.record('a', 2, NOW - 59_998, NOW)
    values.record('a', 4, NOW - 50_000, NOW)
    expect(values.statistics('a', 60_000, NOW)).toMatchObject({ sum: 7, count: 3 })
    expect(values.statistics('a', 59_999, NOW)).toMatchObject({ sum: 6, count: 2 })
    expect(values.statistics('a', 60_000, NOW + 1)).toMatchObject({ sum: 6, count: 2, min: 2 })
    expect(values.statistics('a', 60_000, NOW + 2)).toMatchObject({ sum: 4, count: 1, min: 4 })
  })

  it("cuts the window's oldest second exactly as the edge moves, late arrivals into it included", () => {
    const values = windows(1)
    // Ten transactions in one second, out of order; then the window's edge walks through it.
    for (const ms of [5, 1, 9, 3, 7, 0, 8, 2, 6, 4]) values.record('a', ms + 1, NOW + ms, NOW + 10)
    const late = 100
    for (let edge = 0; edge <= 10; edge++) {
      const now = NOW + 59_999 + edge
      // A late arrival into the indexed second, once the edge is inside it.
      if (edge === 4) values.record('a', late, NOW + 999, now)
      const left = Array.from({ length: 10 - edge }, (_, k) => edge + k + 1)
      if (edge >= 4) left.push(late)
      expect(values.statistics('a', 60_000, now)).toMatchObject({
        count: left.length,
        sum: left.reduce((a, b) => a + b, 0),
        min: Math.min(...left),
        max: Math.max(...left),
      })
    }
  })

  it('keeps a busy second as blocks: exact at every cut, and its memory stops growing with its transactions', () => {
    const values = windows(1)
    const second = Math.floor(NOW / 1000) * 1000 - 30_000
    // 20 000 transactions in one second, every millisecond, out of order: amounts ms / 100 + k.
    const truth = new Map<number, number[]>()
    for (let k = 0; k < 20; k++) {
      for (let i = 0; i < 1000; i++) {
        const ms = (i * 7919) % 1000
        const amount = ms / 100 + k
        values.record('heavy', amount, second + ms, NOW)
        truth.set(ms, [...(truth.get(ms) ?? []), amount])
      }
    }
    expect(values.bytes).toBe(FINE_BYTES)
    // Every cut of that second: its last n milliseconds, as a read of the last windowMs finds them.
    for (const from of [0, 1, 9, 10, 99, 100, 101, 555, 990, 999]) {
      const windowMs = NOW - (second + from) + 1
      let sum = 0
      let count = 0
      let min = Number.POSITIVE_INFINITY
      for (const [ms, amounts] of truth) {
        if (ms < from) continue
        for (const amount of amounts) {
          sum += Math.round(amount * 100)
          count++
          min = Math.min(min, amount)
        }
      }
      const answer = values.statistics('heavy', windowMs, NOW)
      expect(answer).toMatchObject({ count, min, sum: sum / 100 })
    }
  })

  it('keeps at most MAX_PAIRS pairs of a second before it turns to blocks', () => {
    const values = windows(1)
    for (let i = 0; i < MAX_PAIRS; i++) values.record('a', 1, NOW - 500 + i, NOW)
    expect(values.bytes).toBe(MAX_PAIRS * PAIR_BYTES)
    values.record('a', 1, NOW - 400, NOW)
    expect(values.bytes).toBe(FINE_BYTES)
    expect(values.statistics('a', 450, NOW)).toMatchObject({ count: 1 })
    expect(values.statistics('a', 501, NOW)).toMatchObject({ count: MAX_PAIRS + 1 })
    expect(values.statistics('a', 500, NOW)).toMatchObject({ count: MAX_PAIRS })
  })

  it('releases a value, and its memory, once its newest transaction has left the window', () => {
    const values = windows(2)
    values.record('a', 1, NOW - 10, NOW)
    values.record('b', 1, NOW, NOW)
    expect(values.tracked).toBe(2)
    expect(values.bytes).toBe(2 * 8 * PAIR_BYTES)
    values.advance(NOW + 59_990)
    expect(values.tracked).toBe(1)
    expect(values.bytes).toBe(8 * PAIR_BYTES)
    // The slot a freed is taken by c, whose answers start clean.
    values.record('c', 5, NOW + 59_990, NOW + 59_990)
    expect(values.statistics('c', 60_000, NOW + 59_990)).toMatchObject({ sum: 5, count: 1 })
    values.advance(NOW + 200_000)
    expect([values.tracked, values.bytes]).toEqual([0, 0])
  })

  it('sends what the budget cannot hold to the overflow, and says the value is incomplete', () => {
    const values = windows(10, 8 * PAIR_BYTES)
    // Newest first, in one second: the ninth, the oldest, finds the budget spent.
    for (let i = 8; i >= 0; i--) values.record('a', 1, NOW + i, NOW + 8)
    expect(values.bytes).toBeLessThanOrEqual(8 * PAIR_BYTES)
    expect(values.statistics('a', 60_000, NOW + 8)).toMatchObject({ count: 8, incomplete: true })
    const breakdown = values.breakdown(query, 60_000, NOW + 8)
    expect(breakdown.values).toMatchObject([{ value: 'a', count: 8, incomplete: true }])
    expect(breakdown.other).toMatchObject({ count: 1, sum: 1 })
    // Once the overflowed transaction has left, the value is whole again.
    expect(values.statistics('a', 60_000, NOW + 60_000)).toMatchObject({
      count: 8,
      incomplete: false,
    })
  })

  it('starts afresh when cleared, its dense windows too, whatever instants they had seen', () => {
    const values = windows(1)
    values.record('a', 1, NOW, NOW)
    values.record('b', 2, NOW, NOW)
    values.record(undefined, 2, NOW + 1_000, NOW)
    values.clear()
    expect(values.tracked).toBe(0)
    values.record(undefined, 4, NOW - 59_000, NOW - 60_000)
    expect(values.breakdown(query, 60_000, NOW - 60_000).missing.count).toBe(0)
    values.record('b', 3, NOW - 60_000, NOW - 60_000)
    expect(values.statistics('b', 60_000, NOW - 60_000)).toEqual({
      sum: 3,
      avg: 3,
      max: 3,
      min: 3,
      count: 1,
      incomplete: false,
    })
  })
})
