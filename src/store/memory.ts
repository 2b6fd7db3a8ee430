import { RollingWindow, type WindowOptions } from '../core/window.js'
import type { RecordOutcome, Statistics, Transaction, TransactionStore } from './store.js'

/** The window in this process's memory: every call completes synchronously. */
export class MemoryStore implements TransactionStore {
  readonly #window: RollingWindow

  constructor(options: WindowOptions = {}) {
    this.#window = new RollingWindow(options)
  }

  async record(transactions: readonly Transaction[]): Promise<RecordOutcome[]> {
    const outcomes = new Array<RecordOutcome>(transactions.length)
    for (let i = 0; i < transactions.length; i++) {
      const { amount, timestamp } = transactions[i] as Transaction
      outcomes[i] = this.#window.record(amount, timestamp)
    }
    return outcomes
  }

  async statistics(): Promise<Statistics> {
    return this.#window.snapshot()
  }

  async clear(): Promise<void> {
    this.#window.clear()
  }

  async ready(): Promise<boolean> {
    return true
  }

  async close(): Promise<void> {}
}
