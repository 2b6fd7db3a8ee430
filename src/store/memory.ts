import {
  DEFAULT_DIMENSION_BUDGET_BYTES,
  DEFAULT_IDEMPOTENCY_BUDGET_BYTES,
  DEFAULT_MAX_VALUES,
} from '../core/defaults.js'
import type { Breakdown, BreakdownQuery } from '../core/dimensions/breakdown.js'
import { dimensionValueOf } from '../core/dimensions/names.js'
import { ValueWindows } from '../core/dimensions/value-windows.js'
import {
  entryBytes,
  type Idempotency,
  IdempotencyLedger,
  type RecordedOnce,
} from '../core/idempotency/idempotency.js'
import type { QuantileOptions } from '../core/quantiles/settings.js'
import { keepQuantiles } from '../core/quantiles/window-quantiles.js'
import type { Series, Statistics, StatisticsQuery } from '../core/window/statistics.js'
import { checkQueryWindow, RollingWindow, type WindowOptions } from '../core/window/window.js'
import type { RecordOutcome, Transaction, TransactionStore } from './store.js'

/** How the memory store is built: the window's options, and its features'. */
export interface MemoryStoreOptions extends Omit<WindowOptions, 'quantiles'> {
  /**
   * Keep quantile sketches, with these options; false: none.
   * @default {} (kept, with the defaults of QuantileOptions)
   */
  quantiles?: QuantileOptions | false
  /**
   * How long an idempotency key is remembered, in ms: at least the window plus the skew.
   * @default windowMs + clockSkewMs
   */
  idempotencyRetentionMs?: number
  /**
   * The most the remembered keys may be charged, in bytes (see entryBytes).
   * @default DEFAULT_IDEMPOTENCY_BUDGET_BYTES (256 MiB)
   */
  idempotencyBudgetBytes?: number
  /**
   * The most one client's remembered keys may be charged, in bytes.
   * @default idempotencyBudgetBytes
   */
  idempotencyClientShareBytes?: number
  /**
   * The names of the transactions' dimensions (see dimensions/names.ts).
   * @default []
   */
  dimensions?: readonly string[]
  /**
   * Values tracked at once per dimension.
   * @default DEFAULT_MAX_VALUES (1 000)
   */
  dimensionMaxValues?: number
  /**
   * The most a dimension's values may be charged, in bytes (see ValueWindows).
   * @default DEFAULT_DIMENSION_BUDGET_BYTES (256 MiB)
   */
  dimensionBudgetBytes?: number
}

/** How often expired idempotency keys are forgotten without a request (see connect). */
const SWEEP_MS = 1_000

/** The window in this process's memory: every call answers synchronously. */
export class MemoryStore implements TransactionStore {
  readonly #window: RollingWindow
  readonly #ledger: IdempotencyLedger
  /** Per dimension, by name, its values' windows; the names and windows in order, for records. */
  readonly #dimensions = new Map<string, ValueWindows>()
  readonly #names: string[] = []
  readonly #windows: ValueWindows[] = []
  /** The window's epoch the dimensions were last shown (see #now). */
  #epoch = 0
  #sweeper: ReturnType<typeof setInterval> | undefined

  constructor(options: MemoryStoreOptions = {}) {
    // Quantile sketches are on unless the options say otherwise.
    const quantiles = options.quantiles ?? {}
    this.#window = new RollingWindow({
      ...options,
      quantiles: quantiles && keepQuantiles(quantiles),
    })
    for (const name of options.dimensions ?? []) {
      this.#dimensions.set(
        name,
        new ValueWindows({
          windowMs: this.#window.windowMs,
          clockSkewMs: this.#window.clockSkewMs,
          maxValues: options.dimensionMaxValues ?? DEFAULT_MAX_VALUES,
          budgetBytes: options.dimensionBudgetBytes ?? DEFAULT_DIMENSION_BUDGET_BYTES,
        }),
      )
    }
    this.#names.push(...this.#dimensions.keys())
    this.#windows.push(...this.#dimensions.values())
    const budget = options.idempotencyBudgetBytes ?? DEFAULT_IDEMPOTENCY_BUDGET_BYTES
    this.#ledger = new IdempotencyLedger(
      options.idempotencyRetentionMs ?? this.#window.windowMs + this.#window.clockSkewMs,
      budget,
      options.idempotencyClientShareBytes ?? budget,
    )
  }

  record(transactions: readonly Transaction[]): RecordOutcome[] {
    const outcomes = new Array<RecordOutcome>(transactions.length)
    const names = this.#names
    const windows = this.#windows
    for (let i = 0; i < transactions.length; i++) {
      const transaction = transactions[i] as Transaction
      const { amount, timestamp } = transaction
      const outcome = this.#window.record(amount, timestamp)
      outcomes[i] = outcome
      if (outcome !== 'stored' || names.length === 0) continue
      const now = this.#now()
      for (let d = 0; d < names.length; d++) {
        const value = dimensionValueOf(transaction, names[d] as string)
        ;(windows[d] as ValueWindows).record(value, amount, timestamp, now)
      }
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
      once.client,
      now,
    )
    if (wait > 0) return { kind: 'full', retryAfterMs: wait }
    const outcomes = this.record(transactions)
    this.#ledger.remember(once, outcomes, now)
    return { kind: 'recorded', outcomes, replayed: false }
  }

  /** What the remembered idempotency keys are charged now, in bytes (see IdempotencyLedger). */
  get idempotencyBytes(): number {
    return this.#ledger.bytes
  }

  statistics(query?: StatisticsQuery): Readonly<Statistics> {
    if (query === undefined) return this.#window.snapshot()
    const asked = query.dimensionValue
    if (asked === undefined) return this.#window.query(query)
    if (query.quantiles !== undefined) throw new RangeError('quantiles are not kept per value')
    const windowMs = checkQueryWindow(
      query.windowMs ?? this.#window.windowMs,
      this.#window.windowMs,
    )
    return this.#values(asked.dimension).statistics(asked.value, windowMs, this.#now())
  }

  breakdown(query: BreakdownQuery): Readonly<Breakdown> {
    const values = this.#values(query.dimension)
    const windowMs = checkQueryWindow(
      query.windowMs ?? this.#window.windowMs,
      this.#window.windowMs,
    )
    return values.breakdown(query, windowMs, this.#now())
  }

  /** The window's instant, the dimensions cleared first if the window started afresh since. */
  #now(): number {
    const now = this.#window.now()
    if (this.#window.epoch !== this.#epoch) {
      this.#epoch = this.#window.epoch
      for (const values of this.#dimensions.values()) values.clear()
    }
    return now
  }

  #values(dimension: string): ValueWindows {
    const values = this.#dimensions.get(dimension)
    if (values === undefined) throw new RangeError(`no dimension is named ${dimension}`)
    return values
  }

  series(windowMs?: number): Series {
    return this.#window.series(windowMs)
  }

  clear(): void {
    this.#window.clear()
    for (const values of this.#dimensions.values()) values.clear()
  }

  /**
   * Forgets expired idempotency keys once a second from now on, so that a store that receives no
   * keyed request frees them (and their memory) on time all the same.
   */
  connect(): void {
    this.#sweeper ??= setInterval(() => this.#ledger.forget(this.#window.now()), SWEEP_MS)
    this.#sweeper.unref()
  }

  ready(): boolean {
    return true
  }

  close(): void {
    clearInterval(this.#sweeper)
    this.#sweeper = undefined
  }
}
