import { Type } from 'typebox'
import type { StatisticsQuery } from '../core/statistics.js'
import { ProblemError } from './problem.js'

/**
 * The query parameters that ask the window more than its five numbers over its whole length,
 * shared by GET /statistics, /statistics/series and /statistics/stream. Strings: the service
 * validates without type coercion, and a query string is text.
 */
export function statisticsQuerySchema(windowMs: number) {
  return {
    windowMs: Type.Optional(
      Type.String({
        pattern: '^[0-9]{1,9}$',
        description: `Answer for the last windowMs milliseconds only: 1 to the configured window (${windowMs}), the default. Millisecond-exact, like the whole window.`,
      }),
    ),
  }
}

export interface StatisticsQueryText {
  windowMs?: string | undefined
}

/**
 * What a reader asks, checked against the configured window; undefined for the whole window and
 * nothing more, the common case. Out of bounds: 422 naming the parameter.
 */
export function parseStatisticsQuery(
  text: StatisticsQueryText,
  windowMs: number,
): StatisticsQuery | undefined {
  if (text.windowMs === undefined) return undefined
  const spanMs = Number(text.windowMs)
  if (spanMs < 1 || spanMs > windowMs) {
    throw new ProblemError(422, 'The window asked for is out of bounds.', [
      { field: 'windowMs', message: `must be an integer from 1 to ${windowMs}` },
    ])
  }
  return { spanMs }
}

/** A key naming what a query asks, so that readers asking the same can share one read. */
export function queryKey(query: StatisticsQuery | undefined): string {
  return query === undefined ? '' : String(query.spanMs ?? '')
}
