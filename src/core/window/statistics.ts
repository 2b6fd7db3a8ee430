import type { Aggregate } from '../amount/aggregate.js'
import { writeSumAndMean } from '../amount/exact-sum.js'

/** What the window reports: exact sum and mean rounded once, exact min and max. */
export interface Statistics {
  sum: number
  avg: number
  max: number
  min: number
  count: number
  /** The quantiles asked for, by their text (see RollingWindow.query); absent unless asked. */
  quantiles?: Record<string, number>
  /** 1 when the quantiles are of exactly the five numbers' set; else the ms their edges were cut at. */
  quantileEdgeMs?: number
  /** Only for a value's statistics: whether some of its transactions may be in the overflow. */
  incomplete?: boolean
}

/** What a reader may ask of the window beyond the five numbers of its whole length. */
export interface StatisticsQuery {
  /** The last windowMs ms only: an integer from 1 to the window's length (the default). */
  windowMs?: number | undefined
  /** Quantiles to estimate, each in [0, 1]. */
  quantiles?: readonly number[] | undefined
  /** Only the transactions with this value of this dimension (see dimensions.ts). */
  dimensionValue?: { dimension: string; value: string } | undefined
}

/** A key naming what a query asks, so that readers asking the same can share one answer. */
export function queryKey(query: StatisticsQuery | undefined): string {
  if (query === undefined) return ''
  const key = `${query.windowMs ?? ''}:${query.quantiles?.join(',') ?? ''}`
  // JSON keeps a value's own ':' from running into the next part.
  return query.dimensionValue === undefined ? key : `${key}:${JSON.stringify(query.dimensionValue)}`
}

export const EMPTY_STATISTICS: Readonly<Statistics> = Object.freeze({
  sum: 0,
  avg: 0,
  max: 0,
  min: 0,
  count: 0,
})

/** One second of the window, for charts. Empty seconds are all zero. */
export interface SeriesPoint {
  /** Epoch second (the point covers its part of [second × 1000, second × 1000 + 999] ms inside the window) */
  second: number
  count: number
  sum: number
  min: number
  max: number
}

export interface Series {
  /** The window's instant, epoch ms */
  at: number
  windowMs: number
  points: SeriesPoint[]
}

/** The five numbers of an aggregate, as the window reports them. */
export function statisticsOf(aggregate: Aggregate): Statistics {
  if (aggregate.count === 0) return { ...EMPTY_STATISTICS }
  const statistics = {
    sum: 0,
    avg: 0,
    max: aggregate.max,
    min: aggregate.min,
    count: aggregate.count,
  }
  writeSumAndMean(aggregate.limbs, aggregate.count, statistics)
  return statistics
}
