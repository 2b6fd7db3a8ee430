import { expect } from 'vitest'
import type { Series, Statistics } from '../../src/core/statistics.js'

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
}

export class OracleWindow {
  #entries: Entry[] = []
  #latest = Number.NEGATIVE_INFINITY

  constructor(
    readonly windowMs: number,
    readonly clockSkewMs: number,
    readonly clock: () => number,
  ) {}

  now(): number {
    const reading = this.clock()
    if (reading > this.#latest) this.#latest = reading
    else if (reading <= this.#latest - this.windowMs) {
      this.#entries = []
      this.#latest = reading
    }
    return this.#latest
  }

  record(amount: number, timestamp: number): string {
    const now = this.now()
    if (timestamp <= now - this.windowMs) return 'tooOld'
    if (timestamp > now + this.clockSkewMs) return 'tooFarInFuture'
    if (!isExactAmount(amount)) return 'invalidAmount'
    this.#entries.push({ amount: amount === 0 ? 0 : amount, timestamp })
    return 'stored'
  }

  clear(): void {
    this.#entries = []
  }

  /** The transactions with now - spanMs < timestamp <= now. */
  live(spanMs = this.windowMs): Entry[] {
    const now = this.now()
    return this.#entries.filter((e) => e.timestamp > now - spanMs && e.timestamp <= now)
  }

  snapshot(spanMs = this.windowMs): Statistics {
    return summarise(this.live(spanMs))
  }

  /** The amount at rank ⌊q × (n − 1)⌋ of the sorted amounts of the last spanMs ms; 0 when none. */
  quantile(q: number, spanMs = this.windowMs): number {
    const amounts = this.live(spanMs)
      .map((e) => e.amount)
      .sort((a, b) => a - b)
    if (amounts.length === 0) return 0
    return amounts[Math.floor(q * (amounts.length - 1))] as number
  }

  series(spanMs = this.windowMs): Series {
    const now = this.now()
    const first = now - spanMs + 1
    const points = []
    for (let second = Math.floor(first / 1000); second * 1000 <= now; second++) {
      const from = Math.max(first, second * 1000)
      const to = Math.min(now, second * 1000 + 999)
      const { count, sum, min, max } = summarise(
        this.#entries.filter((e) => e.timestamp >= from && e.timestamp <= to),
      )
      points.push({ second, count, sum, min, max })
    }
    return { at: now, windowMs: spanMs, points }
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
export function expectQuantiles(
  answer: Statistics,
  oracle: OracleWindow,
  quantiles: readonly number[],
  accuracy: number,
  spanMs = oracle.windowMs,
): void {
  const { quantiles: reported, quantileEdgeMs, ...five } = answer
  expect(five).toEqual(oracle.snapshot(spanMs))
  expect(quantileEdgeMs).toBe(1)
  expect(Object.keys(reported ?? {}).sort()).toEqual([...new Set(quantiles.map(String))].sort())
  for (const q of quantiles) {
    const truth = oracle.quantile(q, spanMs)
    const value = reported?.[String(q)] as number
    const error = Math.abs(value - truth)
    if (!(error <= Math.abs(truth) * accuracy * (1 + 1e-9))) {
      throw new Error(`quantile ${q}: ${value} is not within ${accuracy} of ${truth}`)
    }
  }
}
