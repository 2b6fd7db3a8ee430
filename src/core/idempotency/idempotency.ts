import type { RecordOutcome } from '../window/window.js'

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
  /**
   * Who sent it (its API key's hash, else its address): each client's remembered keys are
   * charged against a share of the budget of its own, so one client cannot take another's room.
   */
  client: string
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

/**
 * The outcomes as letters, in one flat string of one byte per outcome. (Appending letter by
 * letter would leave a rope of one node per outcome, some 32 bytes each, until read.)
 */
export function toLetters(outcomes: readonly RecordOutcome[]): string {
  return outcomes.map((outcome) => OUTCOME_LETTERS[outcome]).join('')
}

export function fromLetters(letters: string): RecordOutcome[] {
  return Array.from(letters, (letter) => OUTCOME_OF_LETTER.get(letter) ?? 'invalidAmount')
}

/**
 * What a remembered key is charged against the budget, in bytes: its key, fingerprint and
 * outcomes, plus a fixed overhead for the entry around them (a Map entry, its object and strings'
 * headers here; a key with an expiry, its prefix and its value's header in Redis), chosen above
 * what either store measures (bench/idempotency.ts prints both), so that the budget bounds the
 * memory itself, the span rings and the hash table's growth included. The same
 * rule in both stores (the Redis scripts interpolate it).
 */
export const ENTRY_OVERHEAD_BYTES = 512

export function entryBytes(key: string, fingerprint: string, outcomes: number): number {
  return ENTRY_OVERHEAD_BYTES + key.length + fingerprint.length + outcomes
}

/**
 * Charges are kept per span of retention / CHARGE_SPANS: a charge is released once every key of
 * its span is forgotten, so the wait for room is read from at most CHARGE_SPANS + 2 spans,
 * whatever the number of keys. The same rule in both stores (the Redis scripts interpolate it).
 */
export const CHARGE_SPANS = 16

/** What the keys remembered in each span of retention are charged, oldest span first. */
class Charges {
  readonly #spans: Array<{ span: number; bytes: number }> = []
  bytes = 0

  add(span: number, bytes: number): void {
    const last = this.#spans.at(-1)
    if (last !== undefined && last.span === span) last.bytes += bytes
    else this.#spans.push({ span, bytes })
    this.bytes += bytes
  }

  /** Releases the spans before `firstLive`; whether any charge is left. */
  release(firstLive: number): boolean {
    const spans = this.#spans
    while (spans.length > 0 && (spans[0] as { span: number }).span < firstLive) {
      this.bytes -= (spans.shift() as { bytes: number }).bytes
    }
    return spans.length > 0
  }

  /**
   * 0 when `cost` more fits within `budget`, else the ms until enough spans are released: a span
   * is released `retentionMs` after it ends.
   */
  waitFor(cost: number, budget: number, now: number, spanMs: number, retentionMs: number): number {
    let free = budget - this.bytes
    if (free >= cost) return 0
    for (const { span, bytes } of this.#spans) {
      free += bytes
      if (free >= cost) return (span + 1) * spanMs + retentionMs - now
    }
    // Larger than the whole budget: it would never fit; the retention is the honest wait.
    return retentionMs
  }
}

interface Entry {
  fingerprint: string
  letters: string
  /** The window's instant from which the key is forgotten. */
  expiresAt: number
}

/**
 * The keys a process remembers (the memory store's). Entries are added at the window's instant,
 * which never goes back, with one retention, so the Map's insertion order is expiry order:
 * forgetting is from the front, O(1) amortised per key. Memory is bounded by `budgetBytes` in
 * all, and by `clientShareBytes` per client. Clients are kept in the order of their last charge,
 * so those whose charges are all released are dropped from the front as well.
 */
export class IdempotencyLedger {
  readonly #entries = new Map<string, Entry>()
  readonly #total = new Charges()
  readonly #clients = new Map<string, Charges>()
  readonly #spanMs: number

  constructor(
    readonly retentionMs: number,
    readonly budgetBytes: number,
    readonly clientShareBytes = budgetBytes,
  ) {
    this.#spanMs = Math.max(1, Math.ceil(retentionMs / CHARGE_SPANS))
  }

  /** The remembered request with that key, if it is still remembered at `now`. */
  find(key: string, now: number): { fingerprint: string; outcomes: RecordOutcome[] } | undefined {
    this.forget(now)
    const entry = this.#entries.get(key)
    return entry && { fingerprint: entry.fingerprint, outcomes: fromLetters(entry.letters) }
  }

  /**
   * 0 when an entry of that size fits now, in all and in the client's share; else the ms until
   * enough is released. O(CHARGE_SPANS).
   */
  waitForRoom(bytes: number, client: string, now: number): number {
    this.forget(now)
    // Only the front client is released by forget: this one's old spans are released here.
    this.#clients.get(client)?.release(this.#firstLive(now))
    const wait = (charges: Charges | undefined, budget: number) =>
      charges === undefined
        ? bytes <= budget
          ? 0
          : this.retentionMs
        : charges.waitFor(bytes, budget, now, this.#spanMs, this.retentionMs)
    return Math.max(
      wait(this.#clients.get(client), this.clientShareBytes),
      wait(this.#total, this.budgetBytes),
    )
  }

  remember(once: Idempotency, outcomes: readonly RecordOutcome[], now: number): void {
    const letters = toLetters(outcomes)
    const bytes = entryBytes(once.key, once.fingerprint, letters.length)
    this.#entries.set(once.key, {
      fingerprint: once.fingerprint,
      letters,
      expiresAt: now + this.retentionMs,
    })
    const span = Math.floor(now / this.#spanMs)
    this.#total.add(span, bytes)
    const charges = this.#clients.get(once.client) ?? new Charges()
    this.#clients.delete(once.client) // to the back: the order of last charge
    this.#clients.set(once.client, charges)
    charges.add(span, bytes)
  }

  /** Bytes charged now, in all and to one client. */
  get bytes(): number {
    return this.#total.bytes
  }

  clientBytes(client: string, now: number): number {
    const charges = this.#clients.get(client)
    charges?.release(this.#firstLive(now))
    return charges?.bytes ?? 0
  }

  /** The first span still charged at `now`: a span is released retention after it ends. */
  #firstLive(now: number): number {
    return Math.floor((now - this.retentionMs) / this.#spanMs)
  }

  /**
   * Forgets the keys whose retention has passed at `now` and releases their charges. Called by
   * every keyed request, and by the store on a timer, so that an idle store frees them too.
   */
  forget(now: number): void {
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt > now) break
      this.#entries.delete(key)
    }
    const firstLive = this.#firstLive(now)
    this.#total.release(firstLive)
    for (const [client, charges] of this.#clients) {
      if (charges.release(firstLive)) break
      this.#clients.delete(client)
    }
  }
}
