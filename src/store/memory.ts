import {
  entryBytes,
  type Idempotency,
  IdempotencyLedger,
  type RecordedOnce,
} from '../core/idempotency.js'
import type { Series, Statistics, StatisticsQuery } from '../core/statistics.js'
import { RollingWindow, type WindowOptions } from '../core/window.js'
import type { RecordOutcome, Transaction, TransactionStore } from './store.js'

export interface MemoryStoreOptions extends WindowOptions {
  /** How long an idempotency key is remembered, in ms: at least the window plus the skew. */
  idempotencyRetentionMs?: number
  /** The most the remembered keys may be charged, in bytes (see entryBytes). */
  idempotencyBudgetBytes?: number
}

const DEFAULT_IDEMPOTENCY_BUDGET_BYTES = 256 * 1024 * 1024

/** The window in this process's memory: every call answers synchronously. */
export class MemoryStore implements TransactionStore {
  readonly #window: RollingWindow
  readonly #ledger: IdempotencyLedger

  constructor(options: MemoryStoreOptions = {}) {
    // Quantile sketches are on unless the options say otherwise.
    this.#window = new RollingWindow({ quantiles: {}, ...options })
    this.#ledger = new IdempotencyLedger(
      options.idempotencyRetentionMs ?? this.#window.windowMs + this.#window.clockSkewMs,
      options.idempotencyBudgetBytes ?? DEFAULT_IDEMPOTENCY_BUDGET_BYTES,
    )
  }

  record(transactions: readonly Transaction[]): RecordOutcome[] {
    const outcomes = new Array<RecordOutcome>(transactions.length)
    for (let i = 0; i < transactions.length; i++) {
      const { amount, timestamp } = transactions[i] as Transaction
      outcomes[i] = this.#window.record(amount, timestamp)
    }
    return outcomes
  }

  recordOnce(transactions: readonly Transaction[], once: Idempotency): RecordedOnce {
    const now = this.#window.now()
    const seen = this.#ledger.find(once.key, now)
    if (seen) {
      if (seen.fingerprint !== once.fingerprint) return { kind: 'mismatch' }
      return { kind: 'recorded', outcomes: seen.outcomes, replayed: true }
    }
    const wait = this.#ledger.waitForRoom(
      entryBytes(once.key, once.fingerprint, transactions.length),
      now,
    )
    if (wait > 0) return { kind: 'full', retryAfterMs: wait }
    const outcomes = this.record(transactions)
    this.#ledger.remember(once, outcomes, now)
    return { kind: 'recorded', outcomes, replayed: false }
  }

  statistics(query?: StatisticsQuery): Readonly<Statistics> {
    return query === undefined ? this.#window.snapshot() : this.#window.query(query)
  }

  series(spanMs?: number): Series {
    return this.#window.series(spanMs)
  }

  clear(): void {
    this.#window.clear()
  }

  connect(): void {}

  ready(): boolean {
    return true
  }

  close(): void {}
}
