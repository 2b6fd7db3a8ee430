/**
 * Clients that keep a ledger and retry as the README tells them to: every 503 and every
 * connection error is retried with the same Idempotency-Key and the same body until the answer is
 * definitive. Used by the fault tests and by the soak's fault scenarios (npm run soak): at the end
 * the service's count and exact sum must be the ledger's, whatever the fault did.
 */

export interface DrillFigures {
  /** Requests answered 201 at last (each counted once in the ledger). */
  stored: number
  /** Attempts beyond the first: 503s and connection errors, each retried with its key. */
  retries: number
  /** 201s that were replays of a request the store already had. */
  replayed: number
  /** Answers that were neither definitive nor a 503 problem+json (5xx but 503, bad bodies). */
  wrong: number
  /** Definitive 201s per second before the fault, and from the fault to the recovery. */
  rateBefore: number
  rateDuring: number
  /** Milliseconds from the fault until /ready first answered 503 (undefined: it never did). */
  readyDownAfterMs: number | undefined
  /** /ready over time: each change of its status, ms from the fault. */
  readyChanges: Array<{ atMs: number; status: number | 'error' }>
  ledger: { count: number; cents: bigint }
}

export interface DrillOptions {
  /** Where the service is now (a restarted service keeps its port). */
  url: string
  clients?: number
  /**
   * The first retry's backoff, doubled at each retry up to the Retry-After the service gives
   * (1 s), as a client should; a test starts impatient.
   */
  retryDelayMs?: number
  /**
   * How long a retry after a 503 waits: its Retry-After (the README's rule), or Retry-After and
   * doubling from 1 s at each further retry of the same request, up to 8 s (exponential backoff).
   */
  backoff?: 'retry-after' | 'exponential'
  label: string
}

/** The service's Retry-After on a 503, in ms: a client need not wait longer between retries. */
const MAX_RETRY_DELAY_MS = 1_000
/** The longest an exponentially backing-off client waits between two retries. */
const MAX_BACKOFF_MS = 8_000
/** How long a client waits for an answer before it gives up on the attempt. */
const REQUEST_TIMEOUT_MS = 5_000

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export class FaultDrill {
  readonly #options: Required<DrillOptions>
  #running = false
  #next = 0
  readonly #clients: Promise<void>[] = []
  /** Requests not yet definitive, retried while their client goes on with new ones. */
  readonly #retrying = new Set<Promise<void>>()
  #readyPoller: Promise<void> | undefined
  readonly #stored: number[] = [] // the instants of definitive 201s
  #retries = 0
  #replayed = 0
  #wrong = 0
  #count = 0
  #cents = 0n
  #faultAt = Number.NaN
  #recoveredAt = Number.NaN
  #startedAt = 0
  readonly #readyChanges: Array<{ at: number; status: number | 'error' }> = []

  constructor(options: DrillOptions) {
    this.#options = { clients: 8, retryDelayMs: 50, backoff: 'retry-after', ...options }
  }

  start(): void {
    this.#running = true
    this.#startedAt = performance.now()
    for (let i = 0; i < this.#options.clients; i++) this.#clients.push(this.#client())
    this.#readyPoller = this.#pollReady()
  }

  /** The fault happens now. */
  fault(): void {
    this.#faultAt = performance.now()
  }

  /** The fault is over (the service or Redis is back). */
  recovered(): void {
    this.#recoveredAt = performance.now()
  }

  /** Stops sending new requests and waits until every one sent is definitive. */
  async stop(): Promise<void> {
    this.#running = false
    await Promise.all(this.#clients)
    while (this.#retrying.size > 0) await Promise.all(this.#retrying)
    await this.#readyPoller
  }

  /** The service's statistics now. */
  async statistics(): Promise<{ count: number; sum: number }> {
    const response = await fetch(`${this.#options.url}/statistics`)
    return (await response.json()) as { count: number; sum: number }
  }

  /** The ledger's sum as the service reports a sum: the exact decimal, correctly rounded. */
  ledgerSum(): number {
    const negative = this.#cents < 0n
    const cents = negative ? -this.#cents : this.#cents
    const text = `${cents / 100n}.${String(cents % 100n).padStart(2, '0')}`
    return negative ? -Number(text) : Number(text)
  }

  figures(): DrillFigures {
    const rate = (from: number, to: number) =>
      (this.#stored.filter((at) => at >= from && at < to).length * 1_000) / Math.max(1, to - from)
    const faultAt = this.#faultAt
    const end = Number.isNaN(this.#recoveredAt) ? performance.now() : this.#recoveredAt
    const changes = this.#readyChanges.map(({ at, status }) => ({
      atMs: Math.round(at - faultAt),
      status,
    }))
    const down = changes.find(({ atMs, status }) => atMs >= 0 && status !== 200)
    return {
      stored: this.#stored.length,
      retries: this.#retries,
      replayed: this.#replayed,
      wrong: this.#wrong,
      rateBefore: rate(this.#startedAt, faultAt),
      rateDuring: rate(faultAt, end),
      readyDownAfterMs: down?.atMs,
      readyChanges: changes,
      ledger: { count: this.#count, cents: this.#cents },
    }
  }

  async #client(): Promise<void> {
    while (this.#running) {
      const id = this.#next++
      const cents = ((id * 7_919) % 100_000) - 30_000
      const body = JSON.stringify({
        amount: cents / 100,
        timestamp: Date.now(),
      })
      const key = `${this.#options.label}-${id}`
      if ((await this.#attempt(key, body, cents)) === true) continue
      const retried: Promise<void> = this.#untilDefinitive(key, body, cents).then(() => {
        this.#retrying.delete(retried)
      })
      this.#retrying.add(retried)
    }
  }

  async #untilDefinitive(key: string, body: string, cents: number): Promise<void> {
    let delay = this.#options.retryDelayMs
    let backoff = 1_000
    let answer: boolean | number = false
    do {
      this.#retries++
      // As the README asks: after a 503, wait what Retry-After says; after a connection error,
      // back off from a short delay.
      let wait = typeof answer === 'number' ? answer : delay
      if (typeof answer === 'number' && this.#options.backoff === 'exponential') {
        wait = Math.max(answer, backoff)
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS)
      }
      await sleep(wait)
      delay = Math.min(delay * 2, MAX_RETRY_DELAY_MS)
      answer = await this.#attempt(key, body, cents)
    } while (answer !== true)
  }

  /**
   * One attempt: true when its answer is definitive, else the Retry-After it was given in ms, or
   * false after a connection error.
   */
  async #attempt(key: string, body: string, cents: number): Promise<boolean | number> {
    {
      let status: number
      let response: Response
      try {
        response = await fetch(`${this.#options.url}/transactions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': key },
          body,
          // An answer that never comes is a connection error too: retried with the key.
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        })
        await response.arrayBuffer()
        status = response.status
      } catch {
        return false // a connection error: retried with the same key
      }
      if (status === 201) {
        if (response.headers.get('idempotent-replayed') === 'true') this.#replayed++
        this.#stored.push(performance.now())
        this.#count++
        this.#cents += BigInt(cents)
        return true
      }
      if (status === 503 || status === 409) {
        if (!response.headers.get('content-type')?.startsWith('application/problem+json')) {
          this.#wrong++
        }
        return Number(response.headers.get('retry-after') ?? 1) * 1_000
      }
      // 204 or 422 would be a definitive "not stored": never right for these transactions.
      this.#wrong++
      return true
    }
  }

  async #pollReady(): Promise<void> {
    let last: number | 'error' | undefined
    while (this.#running) {
      let status: number | 'error'
      try {
        const response = await fetch(`${this.#options.url}/ready`, {
          signal: AbortSignal.timeout(2_000),
        })
        await response.arrayBuffer()
        status = response.status
      } catch {
        status = 'error'
      }
      if (status !== last) this.#readyChanges.push({ at: performance.now(), status })
      last = status
      await sleep(25)
    }
  }
}
