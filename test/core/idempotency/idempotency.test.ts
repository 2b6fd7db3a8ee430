import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import {
  CHARGE_SPANS,
  entryBytes,
  fromLetters,
  type Idempotency,
  IdempotencyLedger,
  toLetters,
} from '../../../src/core/idempotency/idempotency.js'
import type { RecordOutcome } from '../../../src/core/window/window.js'

const RETENTION = 16_000
const SPAN = RETENTION / CHARGE_SPANS
const once = (key: string, client = 'a'): Idempotency => ({
  key,
  fingerprint: 'f'.repeat(43),
  client,
})
const stored = (n: number): RecordOutcome[] => new Array<RecordOutcome>(n).fill('stored')
const cost = (key: string, n: number) => entryBytes(key, 'f'.repeat(43), n)

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

function heapUsed(): number {
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

describe('IdempotencyLedger', () => {
  it('keeps outcomes as one byte each and round-trips them', () => {
    const outcomes: RecordOutcome[] = ['stored', 'tooOld', 'tooFarInFuture', 'invalidAmount']
    expect(toLetters(outcomes)).toHaveLength(4)
    expect(fromLetters(toLetters(outcomes))).toEqual(outcomes)
  })

  it('holds no more heap per remembered batch than it charges', () => {
    const ledger = new IdempotencyLedger(RETENTION, 2 ** 40)
    // Enough entries that what else the heap gains meanwhile (the runner's own) is a small share.
    const entries = 2_000
    const outcomes = 10_000
    const before = heapUsed()
    for (let i = 0; i < entries; i++) ledger.remember(once(`batch-${i}`), stored(outcomes), 0)
    const perEntry = (heapUsed() - before) / entries
    let charged = 0
    for (let i = 0; i < entries; i++) charged += cost(`batch-${i}`, outcomes)
    expect(ledger.bytes).toBe(charged)
    expect(perEntry).toBeLessThanOrEqual(charged / entries)
  })

  it('holds each client to its share, and the others keep their room', () => {
    const share = cost('k-0', 1) * 3
    const ledger = new IdempotencyLedger(RETENTION, share * 4, share)
    for (let i = 0; i < 3; i++) {
      expect(ledger.waitForRoom(cost(`k-${i}`, 1), 'a', i)).toBe(0)
      ledger.remember(once(`k-${i}`), stored(1), i)
    }
    const wait = ledger.waitForRoom(cost('k-3', 1), 'a', 3)
    expect(wait).toBeGreaterThan(RETENTION - 3)
    expect(wait).toBeLessThanOrEqual(RETENTION + SPAN)
    expect(ledger.waitForRoom(cost('k-3', 1), 'b', 3)).toBe(0)
    // Once a's first span is released, a has room again.
    expect(ledger.waitForRoom(cost('k-3', 1), 'a', 3 + wait)).toBe(0)
  })

  it('forgets keys and releases their charges when asked to, with no request', () => {
    const ledger = new IdempotencyLedger(RETENTION, 2 ** 30)
    ledger.remember(once('k'), stored(1), 0)
    ledger.forget(RETENTION - 1)
    expect(ledger.find('k', RETENTION - 1)).toBeDefined()
    ledger.forget(RETENTION + SPAN)
    expect(ledger.bytes).toBe(0)
    expect(ledger.clientBytes('a', RETENTION + SPAN)).toBe(0)
    expect(ledger.find('k', RETENTION + SPAN)).toBeUndefined()
  })

  it('answers how long to wait from at most a few spans, however many keys it holds', () => {
    const ledger = new IdempotencyLedger(RETENTION, cost('k-00000', 1) * 10_000)
    for (let i = 0; i < 10_000; i++)
      ledger.remember(once(`k-${String(i).padStart(5, '0')}`), stored(1), i)
    const wait = ledger.waitForRoom(cost('k-10000', 1), 'b', 10_000)
    expect(wait).toBe(SPAN + RETENTION - 10_000)
  })
})
