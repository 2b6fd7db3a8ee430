import { type Aggregate, addAggregate, emptyAggregate } from '../amount/aggregate.js'
import { type Statistics, statisticsOf } from '../window/statistics.js'
import type { ValueTable } from './value-table.js'

/** The most a breakdown lists. */
export const MAX_BREAKDOWN_LIMIT = 1_000

/** The statistics of one value, and whether some of its transactions may be missing from them. */
export interface ValueStatistics extends Statistics {
  /**
   * True while transactions of this value may have been counted in the dimension's overflow
   * (docs/design/dimensions.md): the numbers are then a lower bound of the value's count.
   */
  incomplete: boolean
}

export interface BreakdownQuery {
  dimension: string
  order: 'sum' | 'count'
  limit: number
  windowMs?: number | undefined
}

export interface BreakdownEntry extends ValueStatistics {
  value: string
}

export interface Breakdown {
  by: string
  order: 'sum' | 'count'
  /** The top values, greatest first, ties by value. */
  values: BreakdownEntry[]
  /** Every transaction with the field that is not in values (the overflow included). */
  other: Statistics
  /** Every transaction without the field. */
  missing: Statistics
}

/**
 * A breakdown from the values' rows (those with transactions in the window asked, or marked), the
 * overflow's and the missing ones' aggregates: the top `limit` by exact sum or count, ties
 * ordered by value (code unit order), the rest folded into `other`. Both stores answer through
 * this, so they rank alike.
 */
export function rankBreakdown(
  query: BreakdownQuery,
  table: ValueTable,
  overflow: Aggregate,
  missing: Aggregate,
): Breakdown {
  const rows: number[] = []
  for (let row = 0; row < table.size; row++) if (table.count(row) > 0) rows.push(row)
  const names = table.names
  rows.sort((a, b) => {
    const order =
      query.order === 'count' ? table.count(b) - table.count(a) : table.compareSums(b, a)
    if (order !== 0) return order
    const x = names[a] as string
    const y = names[b] as string
    return x < y ? -1 : x > y ? 1 : 0
  })
  const other = emptyAggregate()
  addAggregate(other, overflow)
  for (let k = query.limit; k < rows.length; k++) table.addTo(other, rows[k] as number)
  const one = emptyAggregate()
  return {
    by: query.dimension,
    order: query.order,
    values: rows.slice(0, query.limit).map((row) => {
      one.count = 0
      one.limbs.fill(0)
      one.min = Number.POSITIVE_INFINITY
      one.max = Number.NEGATIVE_INFINITY
      table.addTo(one, row)
      return {
        value: names[row] as string,
        ...statisticsOf(one),
        incomplete: table.incomplete(row),
      }
    }),
    other: statisticsOf(other),
    missing: statisticsOf(missing),
  }
}
