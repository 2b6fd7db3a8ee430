import type { Series, Statistics } from '../core/statistics.js'
import { RollingWindow, type WindowOptions } from '../core/window.js'
import type { RecordOutcome, Transaction, TransactionStore } from './store.js'

/** The window in this process's memory: every call answers synchronously. */
export class MemoryStore implements TransactionStore {
  readonly #window: RollingWindow

  constructor(options: WindowOptions = {}) {
    this.#window = new RollingWindow(options)
  }

  record(transactions: readonly Transaction[]): RecordOutcome[] {
    const outcomes = new Array<RecordOutcome>(transactions.length)
    for (let i = 0; i < transactions.length; i++) {
      const { amount, timestamp } = transactions[i] as Transaction
      outcomes[i] = this.#window.record(amount, timestamp)
    }
    return outcomes
  }

  statistics(): Readonly<Statistics> {
    return this.#window.snapshot()
  }

  series(): Series {
    return this.#window.series()
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
