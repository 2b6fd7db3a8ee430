import { Cluster } from 'ioredis'
import type { Clock } from '../../core/window/clock.js'
import { type ConnectionLog, StoreSettingsError, StoreUnavailableError } from '../store.js'
import { type RedisClient, watchConnection } from './client.js'
import { preludeArgs, type Reply } from './commands.js'
import { ReplicasBehindError, refusedBeforeRunning } from './errors.js'
import { ShardHealth } from './shard-health.js'
import { metaKey, shardRoots } from './shards.js'

/**
 * Keys expire by Redis's clock. An injected clock is not Redis's, so expiry cannot follow the
 * window; keys then live this long instead, longer than any test.
 */
const INJECTED_CLOCK_TTL_MS = 600_000
/** Rounds for shards to agree on one instant before a read is answered (see readAll). */
const MAX_AGREEMENT_ROUNDS = 4

export interface ShardSetOptions {
  client: RedisClient
  prefix: string
  shards: number
  /** The window's length, as the scripts get it. */
  windowMs: string
  clock: Clock | undefined
  /** What instances sharing the window must agree on (see settingsOf). */
  settings: string
  waitReplicas: number
  /** How long WAIT waits for the replicas, in ms. */
  waitMs: number
}

/**
 * The shards of one window and what is known of them: which answer (a circuit breaker each), the
 * instant last shown (every script gets it as a floor, so that shards move together although
 * each holds its own monotonic instant), whether they hold a window kept with other settings;
 * and the calls every operation shares: a read of all shards at one instant, the probe, the
 * mapping of failures to StoreUnavailableError.
 */
export class ShardSet {
  readonly client: RedisClient
  readonly roots: readonly string[]
  readonly health: ShardHealth
  readonly windowMs: string
  readonly waitReplicas: number
  readonly waitMs: number
  readonly #clock: Clock | undefined
  readonly #settings: string
  /** Set when a shard holds a window kept with other settings: the store then serves nothing. */
  #mismatch: StoreSettingsError | undefined
  #log: ConnectionLog | undefined
  #next = 0
  /** The instant the last answer was given at (see the class). */
  seen = ''

  constructor(options: ShardSetOptions) {
    this.client = options.client
    this.roots = shardRoots(options.prefix, options.shards)
    this.windowMs = options.windowMs
    this.#clock = options.clock
    this.#settings = options.settings
    this.waitReplicas = options.waitReplicas
    this.waitMs = options.waitMs
    this.health = new ShardHealth({
      shards: this.roots.length,
      probe: (shard) => this.#probe(shard),
      log: () => this.#log,
    })
  }

  /** Watches the connection, then asks every shard once (see RedisStore.connect). */
  async connect(log: ConnectionLog): Promise<void> {
    this.#log = log
    await watchConnection(this.client, log)
    if (this.connected()) await this.ready()
    if (this.#mismatch) throw this.#mismatch
  }

  /**
   * Ready when a request would be served: connected, and every shard answers now (a probe of each,
   * so a Redis that froze with its connection open is seen without waiting for a request).
   */
  async ready(): Promise<boolean> {
    if (!this.connected()) return false
    if (!this.allUp()) return false
    const probes = this.roots.map((_, shard) =>
      this.#probe(shard).then(
        () => true,
        (error: unknown) => {
          this.health.failed(shard, error)
          return false
        },
      ),
    )
    return (await Promise.all(probes)).every(Boolean)
  }

  connected(): boolean {
    return this.client.status === 'ready'
  }

  /** Whether every shard answers (probing those that do not). */
  allUp(): boolean {
    if (this.health.allUp) return true
    let up = true
    for (let shard = 0; shard < this.roots.length; shard++) up = this.health.up(shard) && up
    return up
  }

  /** Fails at once, nothing sent: the shards a call needs are known not to answer. */
  unavailable(): Promise<never> {
    return Promise.reject(
      new StoreUnavailableError(new Error('a redis shard is not answering'), false),
    )
  }

  /**
   * Asks a shard whether it can serve: a read of its meta key, which lives on the shard's node,
   * and with REDIS_WAIT_REPLICAS, whether that many replicas follow it (a shard that cannot
   * confirm a write fails every write: it is down until they do).
   */
  #probe(shard: number): Promise<unknown> {
    const meta = metaKey(this.roots[shard] as string)
    // The settings are written by the first instance and compared by every other: in the same
    // round trip as the probe, so a window kept with other settings is never written to.
    const pipeline = this.client
      .pipeline()
      .hsetnx(meta, 'settings', this.#settings)
      .hget(meta, 'settings')
    if (this.waitReplicas > 0) pipeline.wait(this.waitReplicas, this.waitMs)
    const probe = pipeline.exec().then((results) => {
      const [, read, waited] = results ?? []
      const failed = (results ?? []).find(([error]) => error)?.[0]
      if (failed) throw failed
      const stored = read?.[1] as string
      if (stored !== this.#settings) {
        this.#mismatch = new StoreSettingsError(this.roots[shard] as string, stored, this.#settings)
        throw this.#mismatch
      }
      if (this.waitReplicas > 0 && (waited?.[1] as number) < this.waitReplicas) {
        throw new ReplicasBehindError(this.waitReplicas, waited?.[1] as number)
      }
    })
    if (this.client instanceof Cluster) {
      const cluster = this.client
      // After a failover the slot has a new master: ask the cluster who it is.
      return probe.catch((error: unknown) => {
        cluster.refreshSlotsCache()
        throw error
      })
    }
    return probe
  }

  /**
   * What a read's failure throws: unavailable, `sent` when the call may have reached Redis (the
   * client was connected and the error does not say it was refused before running). The shard is
   * left as it was: only writes and probes mark a shard down, so a slow read never takes a shard
   * out for every instance's writes.
   */
  readFailure() {
    const connected = this.connected()
    return (error: unknown): never => {
      throw new StoreUnavailableError(error, connected && !refusedBeforeRunning(error))
    }
  }

  /** The same for a write, which marks its shard down. */
  failure(shard: number) {
    const connected = this.connected()
    return (error: unknown): never => {
      throw this.writeFailure(shard, error, connected)
    }
  }

  /** A write's failure, its shard marked down; `connected` whether the client was when it was sent. */
  writeFailure(shard: number, error: unknown, connected: boolean): StoreUnavailableError {
    this.health.failed(shard, error)
    return new StoreUnavailableError(error, connected && !refusedBeforeRunning(error))
  }

  /**
   * Reads every shard, each at its own Redis's instant. Shards that answered at an earlier
   * instant than another are read again with that instant as a floor, until all agree, so the
   * merged answer is the window at one instant (with one shard, always at once).
   */
  async readAll(
    read: (meta: string, args: string[]) => Promise<Reply>,
    extra: readonly string[],
  ): Promise<Reply[]> {
    const call = (shard: number, floor: string) => {
      const root = this.roots[shard] as string
      const args = [...preludeArgs(root, this.at(), this.windowMs, floor), ...extra]
      return read(metaKey(root), args).then((reply) => {
        this.health.answered(shard)
        return reply
      }, this.readFailure())
    }
    const replies = await Promise.all(this.roots.map((_, shard) => call(shard, this.seen)))
    for (let round = 1; round < MAX_AGREEMENT_ROUNDS; round++) {
      const instant = Math.max(...replies.map((reply) => reply[0] as number))
      const lagging = replies.flatMap((reply, shard) => (reply[0] === instant ? [] : [shard]))
      if (lagging.length === 0) break
      const again = await Promise.all(lagging.map((shard) => call(shard, String(instant))))
      lagging.forEach((shard, i) => {
        replies[shard] = again[i] as Reply
      })
    }
    this.seen = String(replies[0]?.[0])
    return replies
  }

  /** Writes without a key go round the shards that answer; undefined when none does. */
  pick(): number | undefined {
    const shards = this.roots.length
    for (let tried = 0; tried < shards; tried++) {
      this.#next = (this.#next + 1) % shards
      if (this.health.up(this.#next)) return this.#next
    }
    return undefined
  }

  /** The least a key lives, in ms, as the scripts take it: 0, unless the clock is injected. */
  ttlFloor(): number {
    return this.#clock ? INJECTED_CLOCK_TTL_MS : 0
  }

  /** The injected clock's reading, as the scripts take it; '' for Redis's own. */
  at(): string {
    return this.#clock ? String(Math.floor(this.#clock())) : ''
  }
}
