import fc from 'fast-check'

/** Random steps against a window and its oracle, shared by the window's and the stores' tests. */
export const WINDOW_MS = 60_000
export const SKEW_MS = 2_000

export const amount = fc.oneof(
  fc.constantFrom(
    0.1,
    0.2,
    0.3,
    0.01,
    -0,
    1e20,
    -1e20,
    1e21,
    -1e21,
    1e-18,
    0.30000000000000004,
    123_456.789,
  ),
  fc.integer({ min: -1e11, max: 1e11 }).map((cents) => cents / 100),
  fc.double({ min: -1e21, max: 1e21, noNaN: true }),
  fc.constantFrom(Number.NaN, Infinity, 1e22, 5e-324, 1e-19),
)

// Timestamps relative to the clock's reading, concentrated on the window's edges.
export const offset = fc.oneof(
  fc.integer({ min: -WINDOW_MS - 2, max: -WINDOW_MS + 2 }),
  fc.integer({ min: -2, max: 2 }),
  fc.integer({ min: SKEW_MS - 2, max: SKEW_MS + 2 }),
  fc.integer({ min: -WINDOW_MS - SKEW_MS, max: 2 * SKEW_MS }),
)

/** A shorter window asked at query time, often a few ms or a whole second, or none. */
export const windowMs = fc.option(
  fc.oneof(
    fc.integer({ min: 1, max: 3 }),
    fc.integer({ min: 999, max: 1_001 }),
    fc.integer({ min: 1, max: WINDOW_MS }),
  ),
  { nil: undefined },
)

/**
 * Quantiles a reader asks for, often the ends and the usual ones, or none; and short decimals
 * (k/10, k/100, k/1000), whose product with n − 1 often lands on an integer, or next to one where
 * doubles fall just short of it (0.29 × 100 is 28.999… in doubles).
 */
export const quantiles = fc.option(
  fc.array(
    fc.oneof(
      fc.constantFrom(0, 0.5, 0.9, 0.99, 1),
      fc.double({ min: 0, max: 1, noNaN: true, noDefaultInfinity: true }),
      fc.integer({ min: 0, max: 10 }).map((k) => k / 10),
      fc.integer({ min: 0, max: 100 }).map((k) => k / 100),
      fc.integer({ min: 0, max: 1_000 }).map((k) => k / 1_000),
    ),
    { minLength: 1, maxLength: 6 },
  ),
  { nil: undefined },
)

export type Step =
  | { kind: 'record'; amount: number; offset: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'back'; ms: number }
  | { kind: 'snapshot'; windowMs: number | undefined; quantiles: number[] | undefined }
  | { kind: 'series'; windowMs: number | undefined }

export const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('record'), amount, offset }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('advance'),
      ms: fc.oneof(
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 990, max: 1_010 }),
        fc.integer({ min: 0, max: 3 * WINDOW_MS }),
        fc.constant(5 * 3_600_000),
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('back'),
      ms: fc.oneof(
        fc.integer({ min: 1, max: SKEW_MS }),
        fc.integer({ min: WINDOW_MS - 2, max: WINDOW_MS + 2 }),
        fc.integer({ min: 1, max: 2 * WINDOW_MS }),
      ),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('snapshot' as const), windowMs, quantiles }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('series' as const), windowMs }) },
)

/**
 * Amounts that each land in another quantile bucket, for traffic that fills sketches as fast as
 * possible: magnitudes from 10^-12 to 10^21 in steps far wider than a bucket, both signs.
 */
export function scatteredAmount(i: number): number {
  const magnitude = Number((10 ** (((i * 7919) % 3300) / 100 - 12)).toPrecision(6))
  return i % 2 === 0 ? magnitude : -magnitude
}

/** The dimensions the steps with dimensions use, and their values: more than a store tracks at once. */
export const DIMENSIONS = ['currency', 'merchant'] as const
export const VALUES = {
  currency: ['EUR', 'USD', 'GBP', 'JPY'],
  merchant: ['m-1', 'm-2', 'm-3', 'm-4', 'm-5', 'm:t:6'],
} as const

/** A transaction's dimension fields: each dimension's field present or not. */
export const fields = fc.record(
  {
    currency: fc.constantFrom(...VALUES.currency),
    merchant: fc.constantFrom(...VALUES.merchant),
  },
  { requiredKeys: [] },
)

export type LabelledStep =
  | { kind: 'record'; amount: number; offset: number; fields: Record<string, string> }
  | { kind: 'advance'; ms: number }
  | { kind: 'back'; ms: number }
  | { kind: 'value'; dimension: string; value: string; windowMs: number | undefined }
  | {
      kind: 'breakdown'
      dimension: string
      order: 'sum' | 'count'
      limit: number
      windowMs: number | undefined
    }

const dimension = fc.constantFrom(...DIMENSIONS)

/** Steps for windows with dimensions: records with dimension fields, values and breakdowns asked. */
export const dimensionStep: fc.Arbitrary<LabelledStep> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({ kind: fc.constant('record' as const), amount, offset, fields }),
  },
  step.filter((s) => s.kind === 'advance' || s.kind === 'back') as fc.Arbitrary<LabelledStep>,
  {
    weight: 2,
    arbitrary: dimension.chain((d) =>
      fc.record({
        kind: fc.constant('value' as const),
        dimension: fc.constant(d),
        value: fc.constantFrom(...VALUES[d]),
        windowMs,
      }),
    ),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('breakdown' as const),
      dimension,
      order: fc.constantFrom('sum' as const, 'count' as const),
      limit: fc.integer({ min: 1, max: 4 }),
      windowMs,
    }),
  },
)

/**
 * Shards each hold their own monotonic instant. A step back of Redis's clock by a whole window or
 * more (at once or in several steps) is seen by each shard when it is next used, and one that has
 * not seen it yet holds still (design.md, "One instant across shards"). So for shards, the clock
 * never falls a whole window behind the latest instant: steps back are shortened to keep it so.
 */
export function withinAWindow<S extends { kind: string }>(sequence: readonly S[]): S[] {
  let at = 0
  let latest = 0
  return sequence.map((s) => {
    const ms = (s as { ms?: number }).ms ?? 0
    if (s.kind === 'advance') at += ms
    if (s.kind !== 'back') {
      latest = Math.max(latest, at)
      return s
    }
    const shortened = Math.min(ms, at - (latest - WINDOW_MS) - 1)
    at -= shortened
    return { ...s, ms: shortened }
  })
}
