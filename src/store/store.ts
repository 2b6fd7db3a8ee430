import type { Awaitable } from '../awaitable.js'
import type { Breakdown, BreakdownQuery } from '../core/dimensions/breakdown.js'
import type { Idempotency, RecordedOnce } from '../core/idempotency/idempotency.js'
import type { Series, Statistics, StatisticsQuery } from '../core/window/statistics.js'
import type { RecordOutcome } from '../core/window/window.js'

export type {
  Breakdown,
  BreakdownQuery,
  Idempotency,
  RecordedOnce,
  RecordOutcome,
  Series,
  Statistics,
  StatisticsQuery,
}

/**
 * A transaction. With dimensions configured, each is an optional string field of it too, read by
 * name (see dimensionValueOf in dimensions.ts).
 */
export interface Transaction {
  amount: number
  timestamp: number
}

/** Where a store reports the state of its connection: the service passes its logger. */
export interface ConnectionLog {
  info(details: object, message: string): void
  warn(details: object, message: string): void
}

/**
 * Where the window lives. Batches from the start, so a store that answers over the network
 * (Redis) serves a whole request in one call and one round trip. Results may be promises, for such
 * a store, or plain values, so the memory store's answer costs no promise and no microtask.
 *
 * Lifecycle: `connect` once before serving (it settles after the first attempt, whichever way it
 * went: a store that cannot serve yet is not ready, not an error); `ready` at any time; `close`
 * once, last.
 */
export interface TransactionStore {
  connect(log: ConnectionLog): Awaitable<void>
  /** What happened to each transaction, in order. Outcomes other than 'stored' store nothing. */
  record(transactions: readonly Transaction[]): Awaitable<RecordOutcome[]>
  /**
   * As record, at most once per key: checking the key, recording and remembering the outcomes
   * are one atomic step, so a request sent again, by this instance or another, is answered with
   * the outcomes it had, not recorded again.
   */
  recordOnce(transactions: readonly Transaction[], once: Idempotency): Awaitable<RecordedOnce>
  /**
   * The whole window, or what the query asks.
   * @throws RangeError for a windowMs outside the window, a dimension the store does not keep, or
   * quantiles of one value (they are kept for the whole window only)
   * @throws StoreUnavailableError when the store cannot answer now (rejected, on Redis)
   */
  statistics(query?: StatisticsQuery): Awaitable<Readonly<Statistics>>
  /**
   * The top values of a dimension, the rest and the missing, over the window or its last
   * windowMs ms.
   * @throws RangeError for a dimension the store does not keep (its dimensions are the only
   * valid ones) or a windowMs outside the window
   * @throws StoreUnavailableError when the store cannot answer now (rejected, on Redis)
   */
  breakdown(query: BreakdownQuery): Awaitable<Readonly<Breakdown>>
  /**
   * The window (or its last windowMs ms) per second, for charts.
   * @throws RangeError for a windowMs outside the window
   */
  series(windowMs?: number): Awaitable<Series>
  clear(): Awaitable<void>
  /** Whether the store can serve now. */
  ready(): Awaitable<boolean>
  close(): Awaitable<void>
}

/**
 * The store cannot answer now (its server is unreachable, restarting or too slow). Never a part of
 * a call is stored. `sent` says whether the call reached the server before it failed: if not,
 * nothing was stored; if so (it timed out, or the connection dropped before the answer), the
 * server may still have run it, wholly. Worth retrying, knowing that.
 */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError'

  constructor(
    cause: unknown,
    readonly sent: boolean,
  ) {
    super(`the store cannot serve: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    })
  }
}

/**
 * The store holds a window kept with other settings than this instance's: serving it would
 * corrupt it. Said once, plainly, with both settings and what to do.
 */
export class StoreSettingsError extends Error {
  override name = 'StoreSettingsError'

  constructor(where: string, stored: string, ours: string) {
    super(
      `the window under ${where} was kept with other settings (${stored}) than this instance's (${ours}): start it with the same DIMENSIONS, WINDOW_MS, CLOCK_SKEW_MS and QUANTILES/QUANTILE_ACCURACY, or give it another REDIS_PREFIX`,
    )
  }
}
