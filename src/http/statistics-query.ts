import { Type } from 'typebox'
import { MAX_VALUE_LENGTH, VALUE_PATTERN } from '../core/dimensions/names.js'
import type { StatisticsQuery } from '../core/window/statistics.js'
import { isQueryWindow } from '../core/window/window.js'
import { Problems } from './problems.js'

/**
 * The query parameters that ask the window more than its five numbers over its whole length,
 * shared by GET /statistics, /statistics/series and /statistics/stream. Strings: the service
 * validates without type coercion, and a query string is text.
 */
export function statisticsQuerySchema(windowMs: number, dimensions: readonly string[] = []) {
  return {
    ...dimensionValueSchema(dimensions, 'Only the transactions whose'),
    windowMs: Type.Optional(
      Type.String({
        pattern: '^[0-9]{1,9}$',
        description: `Answer for the last windowMs milliseconds only: 1 to the configured window (${windowMs}), the default. Millisecond-exact, like the whole window.`,
      }),
    ),
    quantiles: Type.Optional(
      Type.String({
        maxLength: 400,
        description: `Comma-separated quantiles to add to the answer, at most ${MAX_QUANTILES}, each a decimal from 0 to 1 (e.g. 0.5,0.9,0.99). Each is within the relative accuracy QUANTILE_ACCURACY of the amount at rank ⌊q × (n − 1)⌋ of the window's sorted amounts (see quantiles in the answer).`,
      }),
    ),
  }
}

/** A value of each dimension, as a transaction's field or a query's parameter holds it. */
export function dimensionValueSchema(dimensions: readonly string[], lead: string) {
  return Object.fromEntries(
    dimensions.map((name) => [
      name,
      Type.Optional(
        Type.String({
          minLength: 1,
          maxLength: MAX_VALUE_LENGTH,
          pattern: VALUE_PATTERN,
          description: `${lead} ${name} is this value: 1 to ${MAX_VALUE_LENGTH} printable characters.`,
        }),
      ),
    ]),
  )
}

export const MAX_QUANTILES = 16
const QUANTILE = /^(?:0(?:\.[0-9]{1,17})?|1(?:\.0{1,17})?|\.[0-9]{1,17})$/

/** What the service can answer: the configured window, and whether it keeps quantiles. */
export interface QueryBounds {
  windowMs: number
  quantiles: boolean
  /** The dimensions a query may name a value of. */
  dimensions: readonly string[]
}

export interface StatisticsQueryText {
  windowMs?: string | undefined
  quantiles?: string | undefined
  /** A dimension's value, by the dimension's name. */
  [dimension: string]: string | undefined
}

/**
 * What a reader asks, checked against the configured window; undefined for the whole window and
 * nothing more, the common case. Out of bounds: 422 naming the parameter.
 */
export function parseStatisticsQuery(
  text: StatisticsQueryText,
  bounds: QueryBounds,
): StatisticsQuery | undefined {
  const { quantiles, dimensions } = bounds
  const asked = parseDimensionValue(text, dimensions)
  if (text.windowMs === undefined && text.quantiles === undefined && asked === undefined) {
    return undefined
  }
  const query: StatisticsQuery = {}
  if (asked !== undefined) {
    if (text.quantiles !== undefined) {
      throw Problems.quantilesPerValue(asked.dimension)
    }
    query.dimensionValue = asked
  }
  if (text.windowMs !== undefined) {
    // The rule is the core's: the stores take the query as checked here.
    const windowMs = Number(text.windowMs)
    if (!isQueryWindow(windowMs, bounds.windowMs)) throw Problems.windowOutOfBounds(bounds.windowMs)
    query.windowMs = windowMs
  }
  if (text.quantiles !== undefined) {
    if (!quantiles) {
      throw Problems.quantilesOff()
    }
    query.quantiles = parseQuantiles(text.quantiles)
  }
  return query
}

/** The one dimension's value a query names, if any (the schema has checked the value itself). */
function parseDimensionValue(text: StatisticsQueryText, dimensions: readonly string[]) {
  if (dimensions.length === 0) return undefined // the common case, on every plain read
  const named = dimensions.filter((dimension) => text[dimension] !== undefined)
  if (named.length > 1) {
    throw Problems.twoDimensions(named[0] as string, named[1] as string)
  }
  const dimension = named[0]
  if (dimension === undefined) return undefined
  return { dimension, value: (text[dimension] as string).normalize('NFC') }
}

/** Distinct quantiles, in the order first asked. */
function parseQuantiles(text: string): number[] {
  const parts = text.split(',')
  if (parts.length > MAX_QUANTILES || parts.some((part) => !QUANTILE.test(part))) {
    throw Problems.invalidQuantiles(MAX_QUANTILES)
  }
  return [...new Set(parts.map(Number))]
}
