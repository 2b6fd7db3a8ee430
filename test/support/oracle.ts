import { expect } from 'vitest'
import type { Series, Statistics } from '../../src/core/window/statistics.js'

/**
 * The brute-force model the window is checked against: every stored transaction in a list,
 * sums in BigInt over a finer scale than the window uses, rounding by the decimal parser.
 * It shares no code with the window.
 */

const SCALE_DIGITS = 40n
const SCALE = 10n ** SCALE_DIGITS
const DIGITS = 250n

export function exactDecimal(amount: number): bigint {
  const match = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(String(amount))
  if (!match) throw new Error(`unexpected number form ${amount}`)
  const [, sign, whole, fraction = '', exp = '0'] = match
  const shift = SCALE_DIGITS + BigInt(exp) - BigInt(fraction.length)
  if (shift < 0n) throw new Error(`too fine for the oracle: ${amount}`)
  const magnitude = BigInt(`${whole}${fraction}`) * 10n ** shift
  return sign === '-' ? -magnitude : magnitude
}

/** The documented domain: finite, at most 1e21 in magnitude, at most 18 decimal places. */
export function isExactAmount(amount: number): boolean {
  if (!Number.isFinite(amount) || Math.abs(amount) > 1e21) return false
  const match = /^-?\d+(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(String(amount))
  const fractionDigits = (match?.[1]?.length ?? 0) - Number(match?.[2] ?? 0)
  return fractionDigits <= 18
}

/** numerator / denominator to the nearest double, through a long decimal expansion. */
export function toDouble(numerator: bigint, denominator: bigint): number {
  const negative = numerator < 0n
  const n = negative ? -numerator : numerator
  const q = (n * 10n ** DIGITS) / denominator
  const sticky = q * denominator === n * 10n ** DIGITS ? '' : '1'
  const digits = q.toString().padStart(Number(DIGITS) + 1, '0')
  const point = digits.length - Number(DIGITS)
  const text = `${digits.slice(0, point)}.${digits.slice(point)}${sticky}`
  return Number(negative ? `-${text}` : text)
}

export interface Entry {
  amount: number
  timestamp: number
  /** Per dimension: the value, and whether it went to the value's window or the overflow. */
  fields?: Record<string, { value: string; tracked: boolean }>
}

/** The dimensions an oracle keeps, and how many values of each it tracks at once. */
export interface OracleDimensions {
  names: readonly string[]
  maxValues: number
}

/** A tracked value: its newest timestamp, and the newest the overflow held when it was tracked. */
interface Tracked {
  newest: number
  partialUntil: number
}

export class OracleWindow {
  #entries: Entry[] = []
  #latest = Number.NEGATIVE_INFINITY
  /** Per dimension: the values tracked now, and the newest timestamp put in its overflow. */
  #tracked = new Map<string, Map<string, Tracked>>()
  #overflowNewest = new Map<string, number>()
  /**
   * Per dimension, the heavy-hitter rule of admission.ts, written out plainly: values that lost
   * their place (readable until they leave), counts of values kept out (Misra–Gries), and each
   * tracked value's transactions this generation.
   */
  #retired = new Map<string, Map<string, Tracked>>()
  #candidates = new Map<string, Map<string, number>>()
  /** Per tracked value, the latest generation it was counted in and its count then. */
  #hits = new Map<string, Map<string, { generation: number; count: number }>>()
  #generation = Number.NEGATIVE_INFINITY

  constructor(
    readonly windowMs: number,
    readonly clockSkewMs: number,
    readonly clock: () => number,
    readonly dimensions: OracleDimensions = { names: [], maxValues: 0 },
  ) {
    this.#forgetValues()
  }

  now(): number {
    const reading = this.clock()
    if (reading > this.#latest) this.#latest = reading
    else if (reading <= this.#latest - this.windowMs) {
      this.#entries = []
      this.#forgetValues()
      this.#latest = reading
    }
    return this.#latest
  }

  /** Records a transaction; its fields are the dimensions' fields it carries. */
  record(amount: number, timestamp: number, fields: Record<string, string> = {}): string {
    const now = this.now()
    if (timestamp <= now - this.windowMs) return 'tooOld'
    if (timestamp > now + this.clockSkewMs) return 'tooFarInFuture'
    if (!isExactAmount(amount)) return 'invalidAmount'
    const entry: Entry = { amount: amount === 0 ? 0 : amount, timestamp, fields: {} }
    const generation = Math.floor(now / this.windowMs)
    if (generation !== this.#generation) {
      this.#generation = generation
      for (const name of this.dimensions.names) this.#candidates.set(name, new Map())
    }
    for (const name of this.dimensions.names) {
      const value = fields[name]
      if (value === undefined) continue
      const tracked = this.#releaseValues(name, now)
      let own = tracked.get(value)
      if (own === undefined && tracked.size < this.dimensions.maxValues) {
        own = this.#track(name, value, timestamp)
      } else if (own === undefined) {
        own = this.#admit(name, value, timestamp)
      }
      if (own !== undefined) {
        const hits = this.#hits.get(name) as Map<string, { generation: number; count: number }>
        const last = hits.get(value)
        const count = last?.generation === generation ? last.count : 0
        hits.set(value, { generation, count: Math.min(count + 1, 2 ** 21 - 1) })
      }
      if (own === undefined) {
        this.#overflowNewest.set(
          name,
          Math.max(this.#overflowNewest.get(name) as number, timestamp),
        )
      } else {
        own.newest = Math.max(own.newest, timestamp)
      }
      ;(entry.fields as Record<string, { value: string; tracked: boolean }>)[name] = {
        value,
        tracked: own !== undefined,
      }
    }
    this.#entries.push(entry)
    return 'stored'
  }

  clear(): void {
    this.#entries = []
    this.#forgetValues()
  }

  /** Tracks a value below the bound: a retired one again, with what it holds. */
  #track(name: string, value: string, timestamp: number): Tracked {
    const retired = this.#retired.get(name) as Map<string, Tracked>
    const overflowNewest = this.#overflowNewest.get(name) as number
    const kept = retired.get(value)
    this.#hits.get(name)?.set(value, { generation: this.#generation, count: 0 })
    const own = kept ?? { newest: timestamp, partialUntil: overflowNewest }
    own.partialUntil = Math.max(own.partialUntil, overflowNewest)
    retired.delete(value)
    this.#candidates.get(name)?.delete(value)
    ;(this.#tracked.get(name) as Map<string, Tracked>).set(value, own)
    return own
  }

  /** admission.ts's rule: counts a value kept out, and on a try takes the lightest's place. */
  #admit(name: string, value: string, timestamp: number): Tracked | undefined {
    const candidates = this.#candidates.get(name) as Map<string, number>
    let count = candidates.get(value)
    if (count !== undefined) count++
    else if (candidates.size < this.dimensions.maxValues) count = 1
    else {
      // Misra–Gries: every count, and this one transaction, less one.
      for (const [other, c] of candidates) {
        if (c === 1) candidates.delete(other)
        else candidates.set(other, c - 1)
      }
      return undefined
    }
    candidates.set(value, count)
    const isTry = count >= 2 && (count === 2 || Number.isInteger(Math.log2(count)))
    if (!isTry) return undefined
    const retired = this.#retired.get(name) as Map<string, Tracked>
    if (
      retired.size >= Math.max(1, Math.ceil(this.dimensions.maxValues / 4)) &&
      !retired.has(value)
    ) {
      return undefined
    }
    const tracked = this.#tracked.get(name) as Map<string, Tracked>
    const hits = this.#hits.get(name) as Map<string, { generation: number; count: number }>
    // Last counted longest ago, then fewest then, then first by code point.
    const lightest = [...tracked]
      .map(([v, t]) => ({ v, t, ...(hits.get(v) as { generation: number; count: number }) }))
      .sort(
        (a, b) => a.generation - b.generation || a.count - b.count || codePointOrder(a.v, b.v),
      )[0]
    const thisGeneration = lightest?.generation === this.#generation ? lightest.count : 0
    if (lightest === undefined || thisGeneration >= count) return undefined
    tracked.delete(lightest.v)
    retired.set(lightest.v, lightest.t)
    return this.#track(name, value, timestamp)
  }

  /** A dimension's tracked values, once those whose newest transaction has left are released. */
  #releaseValues(dimension: string, now: number): Map<string, Tracked> {
    const tracked = this.#tracked.get(dimension) as Map<string, Tracked>
    for (const [v, t] of tracked) if (t.newest <= now - this.windowMs) tracked.delete(v)
    const retired = this.#retired.get(dimension) as Map<string, Tracked>
    for (const [v, t] of retired) if (t.newest <= now - this.windowMs) retired.delete(v)
    return tracked
  }

  #forgetValues(): void {
    for (const name of this.dimensions.names) {
      this.#tracked.set(name, new Map())
      this.#retired.set(name, new Map())
      this.#candidates.set(name, new Map())
      this.#hits.set(name, new Map())
      this.#overflowNewest.set(name, Number.NEGATIVE_INFINITY)
    }
  }

  /** A value's statistics over the last windowMs ms, and whether it may be incomplete. */
  valueStatistics(dimension: string, value: string, windowMs = this.windowMs): Statistics {
    const live = this.live(windowMs)
    const now = this.now()
    const from = now - windowMs + 1
    const tracked = this.#releaseValues(dimension, now).get(value)
    const retired = (this.#retired.get(dimension) as Map<string, Tracked>).get(value)
    const own = tracked ?? retired
    const overflowNewest = this.#overflowNewest.get(dimension) as number
    // A retired value's later transactions are in the overflow.
    const partialUntil =
      own === undefined
        ? overflowNewest
        : Math.max(own.partialUntil, tracked ? Number.NEGATIVE_INFINITY : overflowNewest)
    const mine = live.filter(
      (e) => e.fields?.[dimension]?.value === value && e.fields[dimension]?.tracked,
    )
    // A value released since holds nothing in the window: only the current tracking counts.
    return { ...summarise(own === undefined ? [] : mine), incomplete: partialUntil >= from }
  }

  /** The breakdown the stores must give: ranked by exact sum or count, ties by value. */
  breakdown(dimension: string, order: 'sum' | 'count', limit: number, windowMs = this.windowMs) {
    const live = this.live(windowMs)
    const now = this.now()
    const from = now - windowMs + 1
    this.#releaseValues(dimension, now)
    const retired = this.#retired.get(dimension) as Map<string, Tracked>
    const byValue = new Map<string, Entry[]>()
    const overflow: Entry[] = []
    const missing: Entry[] = []
    for (const e of live) {
      const field = e.fields?.[dimension]
      if (field === undefined) missing.push(e)
      else if (!field.tracked || retired.has(field.value)) overflow.push(e)
      else byValue.set(field.value, [...(byValue.get(field.value) ?? []), e])
    }
    const exactSum = (entries: Entry[]) => entries.reduce((a, e) => a + exactDecimal(e.amount), 0n)
    const ranked = [...byValue].sort(([va, a], [vb, b]) => {
      const difference = order === 'count' ? BigInt(b.length - a.length) : exactSum(b) - exactSum(a)
      if (difference !== 0n) return difference > 0n ? 1 : -1
      return va < vb ? -1 : va > vb ? 1 : 0
    })
    const tracked = this.#tracked.get(dimension) as Map<string, Tracked>
    return {
      by: dimension,
      order,
      values: ranked.slice(0, limit).map(([value, entries]) => ({
        value,
        ...summarise(entries),
        incomplete: (tracked.get(value)?.partialUntil as number) >= from,
      })),
      other: summarise([...ranked.slice(limit).flatMap(([, entries]) => entries), ...overflow]),
      missing: summarise(missing),
    }
  }

  /** The transactions with now - windowMs < timestamp <= now. */
  live(windowMs = this.windowMs): Entry[] {
    const now = this.now()
    return this.#entries.filter((e) => e.timestamp > now - windowMs && e.timestamp <= now)
  }

  snapshot(windowMs = this.windowMs): Statistics {
    return summarise(this.live(windowMs))
  }

  /** The amount at rank ⌊q × (n − 1)⌋ of the sorted amounts of the last windowMs ms; 0 when none. */
  quantile(q: number, windowMs = this.windowMs): number {
    const amounts = this.live(windowMs)
      .map((e) => e.amount)
      .sort((a, b) => a - b)
    if (amounts.length === 0) return 0
    return amounts[exactRank(q, amounts.length)] as number
  }

  series(windowMs = this.windowMs): Series {
    const now = this.now()
    const first = now - windowMs + 1
    const points = []
    for (let second = Math.floor(first / 1000); second * 1000 <= now; second++) {
      const from = Math.max(first, second * 1000)
      const to = Math.min(now, second * 1000 + 999)
      const { count, sum, min, max } = summarise(
        this.#entries.filter((e) => e.timestamp >= from && e.timestamp <= to),
      )
      points.push({ second, count, sum, min, max })
    }
    return { at: now, windowMs: windowMs, points }
  }
}

function summarise(live: Entry[]): Statistics {
  if (live.length === 0) return { sum: 0, avg: 0, max: 0, min: 0, count: 0 }
  const total = live.reduce((acc, e) => acc + exactDecimal(e.amount), 0n)
  const amounts = live.map((e) => e.amount)
  return {
    sum: toDouble(total, SCALE),
    avg: toDouble(total, SCALE * BigInt(live.length)),
    max: Math.max(...amounts),
    min: Math.min(...amounts),
    count: live.length,
  }
}

/**
 * Checks an answer with quantiles against the oracle: the five numbers exact, each quantile within
 * the relative accuracy of the true one (and a hair more, for the rounding of a logarithm).
 */
/**
 * ⌊q × (n − 1)⌋ for q as the decimal String(q) writes, by exact comparison: the double product
 * is a first guess, moved until rank ≤ q × (n − 1) < rank + 1 holds in integers.
 */
export function exactRank(q: number, n: number): number {
  const match = /^(\d+)(?:\.(\d+))?(?:e-(\d+))?$/.exec(String(q))
  if (match === null) throw new Error(`not a quantile: ${q}`)
  const [, whole = '', fraction = '', exponent = '0'] = match
  const numerator = BigInt(whole + fraction) * BigInt(n - 1)
  const denominator = 10n ** BigInt(fraction.length + Number(exponent))
  let rank = Math.floor(q * (n - 1))
  while (BigInt(rank + 1) * denominator <= numerator) rank++
  while (BigInt(rank) * denominator > numerator) rank--
  return rank
}

export function expectQuantiles(
  answer: Statistics,
  oracle: OracleWindow,
  quantiles: readonly number[],
  accuracy: number,
  windowMs = oracle.windowMs,
): void {
  const { quantiles: reported, quantileEdgeMs, ...five } = answer
  expect(five).toEqual(oracle.snapshot(windowMs))
  expect(quantileEdgeMs).toBe(1)
  expect(Object.keys(reported ?? {}).sort()).toEqual([...new Set(quantiles.map(String))].sort())
  for (const q of quantiles) {
    const truth = oracle.quantile(q, windowMs)
    const value = reported?.[String(q)] as number
    // The extremes are the exact min and max, not within α of them.
    if (q === 0) expect(value).toBe(five.count === 0 ? 0 : five.min)
    if (q === 1) expect(value).toBe(five.count === 0 ? 0 : five.max)
    const error = Math.abs(value - truth)
    if (!(error <= Math.abs(truth) * accuracy * (1 + 1e-9))) {
      throw new Error(`quantile ${q}: ${value} is not within ${accuracy} of ${truth}`)
    }
  }
}

function codePointOrder(a: string, b: string): number {
  const x = [...a].map((c) => c.codePointAt(0) as number)
  const y = [...b].map((c) => c.codePointAt(0) as number)
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return (x[i] as number) - (y[i] as number)
  }
  return x.length - y.length
}
