import { afterAll, describe, expect, it } from 'vitest'
import type { RecordOutcome, TransactionStore } from '../../../src/store/store.js'
import { openStore, prefixOf } from '../../support/stores.js'

const opened: TransactionStore[] = []
afterAll(async () => {
  for (const store of opened) await store.close()
})

describe('writers recording across an edge of the window, on Redis’s own clock', () => {
  it('record every batch, whatever the instant Redis reads, judging each transaction at it', async () => {
    const first = await openStore('redis', {})
    opened.push(first)
    for (let k = 0; k < 3; k++) opened.push(await openStore('redis', {}, prefixOf(first)))
    // One transaction a millisecond across the 60 s edge: whatever instant a call is judged
    // at, some of its transactions are a millisecond either side of it.
    const batch = () => {
      const now = Date.now()
      return Array.from({ length: 500 }, (_, i) => ({ amount: 1, timestamp: now - 60_250 + i }))
    }
    const results = await Promise.all(
      opened.flatMap((store) => Array.from({ length: 5 }, () => store.record(batch()))),
    )
    for (const outcomes of results as RecordOutcome[][]) {
      // Judged at one instant: every transaction older than the others' is too old.
      const firstStored = outcomes.indexOf('stored')
      expect(firstStored).toBeGreaterThan(0)
      expect(outcomes.slice(0, firstStored).every((outcome) => outcome === 'tooOld')).toBe(true)
      expect(outcomes.slice(firstStored).every((outcome) => outcome === 'stored')).toBe(true)
    }
  })
})
