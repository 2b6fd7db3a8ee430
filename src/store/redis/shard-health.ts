import type { ConnectionLog } from '../store.js'

/** How often a shard that stopped answering is asked again, at most, while something needs it. */
export const PROBE_INTERVAL_MS = 100

interface Outage {
  since: number
  probing: boolean
  lastProbe: number
}

export interface ShardHealthOptions {
  shards: number
  /** Asks a shard whether it answers: resolves when it does. */
  probe: (shard: number) => Promise<unknown>
  log: () => ConnectionLog | undefined
  now?: () => number
}

/**
 * Which shards answer: a circuit breaker per shard. A call to a shard that fails marks it down;
 * from then on calls skip it (a write goes to another shard; a read, which needs every shard, and
 * a keyed write, which needs its own, fail at once, nothing sent) until a probe is answered. A
 * probe is sent only while something asks for the shard, at most one at a time and one per
 * PROBE_INTERVAL_MS, so a shard that is down costs the others almost nothing. An outage and its
 * end are logged once each, at warn, with the shard and the cause.
 */
export class ShardHealth {
  readonly #down: Array<Outage | undefined>
  readonly #options: ShardHealthOptions
  readonly #now: () => number
  #downCount = 0

  constructor(options: ShardHealthOptions) {
    this.#options = options
    this.#down = new Array(options.shards).fill(undefined)
    this.#now = options.now ?? Date.now
  }

  /** Whether the shard answers; when it does not, probes it (at most once per interval). */
  up(shard: number): boolean {
    const outage = this.#down[shard]
    if (outage === undefined) return true
    this.#probe(shard, outage)
    return false
  }

  get allUp(): boolean {
    return this.#downCount === 0
  }

  /** A call to the shard failed. */
  failed(shard: number, cause: unknown): void {
    if (this.#down[shard] !== undefined) return
    this.#down[shard] = { since: this.#now(), probing: false, lastProbe: this.#now() }
    this.#downCount++
    const reason = cause instanceof Error ? cause.message : String(cause)
    this.#options
      .log()
      ?.warn(
        { shard, cause: reason },
        'a redis shard does not answer: requests that need it get 503 at once until a probe is answered',
      )
  }

  /** A call to the shard was answered. */
  answered(shard: number): void {
    const outage = this.#down[shard]
    if (outage === undefined) return
    this.#down[shard] = undefined
    this.#downCount--
    this.#options
      .log()
      ?.warn(
        { shard, downForMs: this.#now() - outage.since },
        'a redis shard answers again: the store can serve',
      )
  }

  #probe(shard: number, outage: Outage): void {
    const now = this.#now()
    if (outage.probing || now - outage.lastProbe < PROBE_INTERVAL_MS) return
    outage.probing = true
    outage.lastProbe = now
    this.#options.probe(shard).then(
      () => {
        outage.probing = false
        this.answered(shard)
      },
      () => {
        outage.probing = false
      },
    )
  }
}
