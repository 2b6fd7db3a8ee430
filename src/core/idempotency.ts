import type { RecordOutcome } from './window.js'

/**
 * Idempotency keys: a request sent again with the same key is not recorded again. A store
 * remembers each key with a fingerprint of its request and the outcomes it had, for a retention
 * of at least the window plus the clock-skew allowance. That suffices (design.md, "Exactly once"):
 * a transaction is accepted only with `timestamp ≤ now + skew` and counts only while
 * `timestamp > now − window`, so when a key is forgotten every transaction of its request has
 * left the window and a retry of it is answered too old.
 */
export interface Idempotency {
  /** The client's key, scoped (by API key) so that two clients' keys never meet. */
  key: string
  /** What the request said (a hash of its body): the same key with another body is refused. */
  fingerprint: string
}

/** What a store did with a request that carries an idempotency key. */
export type RecordedOnce =
  /** Recorded now (`replayed` false), or earlier, and these are the outcomes it had then. */
  | { kind: 'recorded'; outcomes: RecordOutcome[]; replayed: boolean }
  /** The key was used with another request: nothing was done. */
  | { kind: 'mismatch' }
  /** Remembering one more key would exceed the budget: nothing was done; retry in `retryAfterMs`. */
  | { kind: 'full'; retryAfterMs: number }

/**
 * One letter per outcome: how outcomes are remembered (compact: one byte each) and how the Redis
 * scripts return them (interpolated there from here).
 */
export const OUTCOME_LETTERS: Readonly<Record<RecordOutcome, string>> = {
  stored: 's',
  tooOld: 'o',
  tooFarInFuture: 'f',
  invalidAmount: 'a',
  invalidTimestamp: 't',
}

const OUTCOME_OF_LETTER = new Map(
  Object.entries(OUTCOME_LETTERS).map(([outcome, letter]) => [letter, outcome as RecordOutcome]),
)

export function toLetters(outcomes: readonly RecordOutcome[]): string {
  let letters = ''
  for (const outcome of outcomes) letters += OUTCOME_LETTERS[outcome]
  return letters
}

export function fromLetters(letters: string): RecordOutcome[] {
  return Array.from(letters, (letter) => OUTCOME_OF_LETTER.get(letter) ?? 'invalidAmount')
}

/**
 * What a remembered key is charged against the budget, in bytes: its key, fingerprint and
 * outcomes, plus a fixed overhead for the entry around them (a Map entry, its object and strings'
 * headers here; a key with an expiry, its prefix and its value's header in Redis), chosen above
 * what either store measures (design.md), so that the budget bounds the memory itself. The same
 * rule in both stores (the Redis scripts interpolate it).
 */
export const ENTRY_OVERHEAD_BYTES = 320

export function entryBytes(key: string, fingerprint: string, outcomes: number): number {
  return ENTRY_OVERHEAD_BYTES + key.length + fingerprint.length + outcomes
}

interface Entry {
  fingerprint: string
  letters: string
  /** The window's instant from which the key is forgotten. */
  expiresAt: number
  bytes: number
}

/**
 * The keys a process remembers (the memory store's). Entries are added at the window's instant,
 * which never goes back, with one retention, so the Map's insertion order is expiry order:
 * forgetting is from the front, O(1) amortised per key. Memory is bounded by `budgetBytes`.
 */
export class IdempotencyLedger {
  readonly #entries = new Map<string, Entry>()
  #bytes = 0

  constructor(
    readonly retentionMs: number,
    readonly budgetBytes: number,
  ) {}

  /** The remembered request with that key, if it is still remembered at `now`. */
  find(key: string, now: number): { fingerprint: string; outcomes: RecordOutcome[] } | undefined {
    this.#forget(now)
    const entry = this.#entries.get(key)
    return entry && { fingerprint: entry.fingerprint, outcomes: fromLetters(entry.letters) }
  }

  /** 0 when an entry of that size fits now, else the ms until enough keys are forgotten. */
  waitForRoom(bytes: number, now: number): number {
    this.#forget(now)
    let free = this.budgetBytes - this.#bytes
    if (free >= bytes) return 0
    for (const entry of this.#entries.values()) {
      free += entry.bytes
      if (free >= bytes) return entry.expiresAt - now
    }
    // Larger than the whole budget: it would never fit; the retention is the honest wait.
    return this.retentionMs
  }

  remember(
    { key, fingerprint }: Idempotency,
    outcomes: readonly RecordOutcome[],
    now: number,
  ): void {
    const letters = toLetters(outcomes)
    const bytes = entryBytes(key, fingerprint, letters.length)
    this.#entries.set(key, { fingerprint, letters, expiresAt: now + this.retentionMs, bytes })
    this.#bytes += bytes
  }

  /** Bytes charged now, for tests and metrics. */
  get bytes(): number {
    return this.#bytes
  }

  #forget(now: number): void {
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt > now) return
      this.#entries.delete(key)
      this.#bytes -= entry.bytes
    }
  }
}
