import type { RecordOutcome, Transaction } from '../store.js'

/** The transactions with a timestamp the script can take, and how to put outcomes back in place. */
export interface ValidTransactions {
  transactions: Transaction[]
  outcomes(written: readonly RecordOutcome[]): RecordOutcome[]
}

export function validTimestamps(
  transactions: readonly Transaction[],
): ValidTransactions | undefined {
  const valid: Transaction[] = []
  const positions: number[] = []
  for (let i = 0; i < transactions.length; i++) {
    const transaction = transactions[i] as Transaction
    if (Number.isSafeInteger(transaction.timestamp) && transaction.timestamp >= 0) {
      valid.push(transaction)
      positions.push(i)
    }
  }
  if (valid.length === 0) return undefined
  if (valid.length === transactions.length) {
    return { transactions: valid, outcomes: (written) => [...written] }
  }
  return {
    transactions: valid,
    outcomes(written) {
      const outcomes = new Array<RecordOutcome>(transactions.length).fill('invalidTimestamp')
      for (let j = 0; j < positions.length; j++) {
        outcomes[positions[j] as number] = written[j] as RecordOutcome
      }
      return outcomes
    },
  }
}

/** A request none of whose timestamps is valid: still remembered under its key, with no writes. */
export function withNone(transactions: readonly Transaction[]): ValidTransactions {
  return { transactions: [], outcomes: () => transactions.map(() => 'invalidTimestamp') }
}
