import type { Series, Statistics } from '../core/statistics.js'
import type { RecordOutcome } from '../core/window.js'

export type { RecordOutcome, Series, Statistics }

export interface Transaction {
  amount: number
  timestamp: number
}

/** A value now, or later. */
export type Awaitable<T> = T | Promise<T>

/**
 * Where the window lives. Batches from the start, so a store that answers over the network
 * (Redis) serves a whole request in one call and one round trip. Results may be promises, for such
 * a store, or plain values, so the memory store's answer costs no promise and no microtask.
 */
export interface TransactionStore {
  /** What happened to each transaction, in order. Outcomes other than 'stored' store nothing. */
  record(transactions: readonly Transaction[]): Awaitable<RecordOutcome[]>
  statistics(): Awaitable<Readonly<Statistics>>
  /** The window per second, for charts. */
  series(): Awaitable<Series>
  clear(): Awaitable<void>
  /** Whether the store can serve now. */
  ready(): Awaitable<boolean>
  close(): Awaitable<void>
}

/** Applies `next` to the value, at once when it is plain, when it settles when it is a promise. */
export function settle<T, R>(value: Awaitable<T>, next: (value: T) => R): Awaitable<R> {
  return value instanceof Promise ? value.then(next) : next(value)
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
