import type { Statistics } from '../core/statistics.js'
import type { RecordOutcome } from '../core/window.js'

export type { RecordOutcome, Statistics }

export interface Transaction {
  amount: number
  timestamp: number
}

/**
 * Where the window lives. Promises and batches from the start, so a store that answers over the
 * network (Redis) fits the same shape: one call, one round trip, whatever the batch size.
 */
export interface TransactionStore {
  /** What happened to each transaction, in order. Outcomes other than 'stored' store nothing. */
  record(transactions: readonly Transaction[]): Promise<RecordOutcome[]>
  statistics(): Promise<Statistics>
  clear(): Promise<void>
  /** Whether the store can serve now. */
  ready(): Promise<boolean>
  close(): Promise<void>
}
