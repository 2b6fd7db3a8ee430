/** What the window reports: exact sum and mean rounded once, exact min and max. */
export interface Statistics {
  sum: number
  avg: number
  max: number
  min: number
  count: number
}

export const EMPTY_STATISTICS: Readonly<Statistics> = Object.freeze({
  sum: 0,
  avg: 0,
  max: 0,
  min: 0,
  count: 0,
})
