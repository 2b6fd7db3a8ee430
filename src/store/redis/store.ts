import type { Result } from 'ioredis'
import { LIMB_COUNT, writeLimbs } from '../../core/amount.js'
import type { Clock } from '../../core/clock.js'
import { writeSumAndMean } from '../../core/exact-sum.js'
import {
  EMPTY_STATISTICS,
  type Series,
  type SeriesPoint,
  type Statistics,
} from '../../core/statistics.js'
import { DEFAULT_CLOCK_SKEW_MS, DEFAULT_WINDOW_MS } from '../../core/window.js'
import {
  type ConnectionLog,
  type RecordOutcome,
  StoreUnavailableError,
  type Transaction,
  type TransactionStore,
} from '../store.js'
import { batchWrites } from './batch-writes.js'
import { type RedisClient, watchConnection } from './client.js'
import { coalesce } from './coalesce.js'
import { CLEAR, RECORD, SERIES, SNAPSHOT } from './scripts.js'
import { shardRoots } from './shards.js'

declare module 'ioredis' {
  interface RedisCommander<Context> {
    txstatsRecord(meta: string, args: Array<string | number>): Result<[number, string], Context>
    txstatsSnapshot(meta: string, args: string[]): Result<Reply, Context>
    txstatsSeries(meta: string, args: string[]): Result<Reply, Context>
    txstatsClear(meta: string): Result<number, Context>
  }
}

/** A script's answer: the instant, then aggregates of eight values each (see scripts.ts). */
type Reply = Array<number | string>

export interface RedisStoreOptions {
  client: RedisClient
  /** Starts every key; the hash tags follow it. */
  prefix?: string
  /** Windows to spread writes over; a read merges them all. */
  shards?: number
  windowMs?: number
  clockSkewMs?: number
  /** The window's instant from this clock instead of Redis's TIME: for tests. */
  clock?: Clock
}

const OUTCOMES: Readonly<Record<string, RecordOutcome>> = {
  s: 'stored',
  o: 'tooOld',
  f: 'tooFarInFuture',
  a: 'invalidAmount',
}
/** An aggregate as the scripts return it: count, the limb sums, min text, max text. */
const AGGREGATE_WIDTH = LIMB_COUNT + 3
const MIN_AT = LIMB_COUNT + 1
const MAX_AT = LIMB_COUNT + 2
/**
 * Keys expire by Redis's clock. An injected clock is not Redis's, so expiry cannot follow the
 * window; keys then live this long instead, longer than any test.
 */
const INJECTED_CLOCK_TTL_MS = 600_000
/**
 * Transactions per coalesced script call, at most: such a call holds Redis no longer than a bulk
 * request of 1 000 does (a bulk request larger than this still goes in one call of its own).
 */
const WRITE_BATCH_MAX = 1_000
/** Rounds for shards to agree on one instant before a read is answered (see #readAll). */
const MAX_AGREEMENT_ROUNDS = 4

/**
 * The window in Redis, shared by every instance that names the same Redis and prefix. Each call
 * is one script per shard, one round trip: a record touches two hashes per transaction; a read
 * touches at most as many blocks as the core's snapshot. Failures become StoreUnavailableError.
 */
export class RedisStore implements TransactionStore {
  readonly #client: RedisClient
  readonly #roots: string[]
  readonly #windowMs: string
  readonly #clockSkewMs: string
  readonly #clock: Clock | undefined
  readonly #limbs = new Float64Array(LIMB_COUNT)
  #nextShard = 0
  /**
   * The instant the last answer was given at. Every script gets it as a floor, so that shards
   * move together although each holds its own monotonic instant (see `advance` in scripts.ts).
   */
  #seen = ''
  /** False from a call that was sent and not answered in time until one is answered. */
  #answering = true
  #log: ConnectionLog | undefined
  /** Concurrent reads share one round trip (see coalesce). */
  readonly statistics: () => Promise<Readonly<Statistics>>
  /** The writes of one turn of the event loop share one script call (see batchWrites). */
  readonly #write: (transactions: readonly Transaction[]) => Promise<RecordOutcome[]>

  constructor(options: RedisStoreOptions) {
    this.#client = options.client
    this.#roots = shardRoots(options.prefix ?? 'txstats:', options.shards ?? 1)
    this.#windowMs = String(options.windowMs ?? DEFAULT_WINDOW_MS)
    this.#clockSkewMs = String(options.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS)
    this.#clock = options.clock
    this.statistics = coalesce(() => this.#readStatistics())
    this.#write = batchWrites((transactions) => this.#writeNow(transactions), WRITE_BATCH_MAX)
    defineScripts(this.#client)
  }

  record(transactions: readonly Transaction[]): RecordOutcome[] | Promise<RecordOutcome[]> {
    const outcomes = new Array<RecordOutcome>(transactions.length)
    const valid: Transaction[] = []
    const positions: number[] = []
    for (let i = 0; i < transactions.length; i++) {
      const transaction = transactions[i] as Transaction
      if (!Number.isSafeInteger(transaction.timestamp) || transaction.timestamp < 0) {
        outcomes[i] = 'invalidTimestamp'
      } else {
        valid.push(transaction)
        positions.push(i)
      }
    }
    if (valid.length === 0) return outcomes
    return this.#write(valid).then((written) => {
      for (let j = 0; j < positions.length; j++) {
        outcomes[positions[j] as number] = written[j] as RecordOutcome
      }
      return outcomes
    })
  }

  /** One script call for all the transactions, on the next shard. */
  #writeNow(transactions: readonly Transaction[]): Promise<RecordOutcome[]> {
    const root = this.#pickShard()
    const ttlFloor = this.#clock ? INJECTED_CLOCK_TTL_MS : 0
    const args: Array<string | number> = [
      root,
      this.#at(),
      this.#windowMs,
      this.#seen,
      this.#clockSkewMs,
      ttlFloor,
    ]
    for (const { amount, timestamp } of transactions) this.#pushTransaction(args, amount, timestamp)
    const failed = this.#failure()
    return this.#client.txstatsRecord(`${root}meta`, args).then(([now, letters]) => {
      this.#answered()
      this.#seen = String(now)
      return Array.from(letters, (letter) => OUTCOMES[letter] ?? 'invalidAmount')
    }, failed)
  }

  async series(): Promise<Series> {
    const replies = await this.#readAll((meta, args) => this.#client.txstatsSeries(meta, args))
    const at = replies[0]?.[0] as number
    const points: SeriesPoint[] = []
    const first = replies[0] as Reply
    for (let offset = 1; offset < first.length; offset += AGGREGATE_WIDTH + 1) {
      const { count, sum, min, max } = this.#merge(replies, offset + 1)
      points.push({ second: first[offset] as number, count, sum, min, max })
    }
    return { at, windowMs: Number(this.#windowMs), points }
  }

  async clear(): Promise<void> {
    const failed = this.#failure()
    await Promise.all(this.#roots.map((root) => this.#client.txstatsClear(`${root}meta`))).then(
      () => this.#answered(),
      failed,
    )
  }

  /**
   * Connects to Redis, reporting to `log` when the connection is lost and when it is back.
   * Settles once the first attempt has succeeded or failed.
   */
  connect(log: ConnectionLog): Promise<void> {
    this.#log = log
    return watchConnection(this.#client, log)
  }

  /**
   * Ready when connected and answering. After a call that was sent and got no answer in time (a
   * Redis frozen or overloaded keeps its connection open), not ready until Redis answers again:
   * a PING here, or any call, tells.
   */
  ready(): boolean | Promise<boolean> {
    if (!this.#connected()) return false
    if (this.#answering) return true
    return this.#client.ping().then(
      () => {
        this.#answered()
        return true
      },
      () => false,
    )
  }

  #connected(): boolean {
    return this.#client.status === 'ready'
  }

  /** Maps a call's failure to StoreUnavailableError; `sent` when the client was connected. */
  #failure() {
    const sent = this.#connected()
    return (error: unknown): never => {
      // A lost connection is the connection watcher's to report; a timeout on an open one, ours.
      if (sent && this.#answering && isTimeout(error)) {
        this.#answering = false
        this.#log?.warn(
          { reason: error instanceof Error ? error.message : String(error) },
          'redis did not answer in time: not ready, requests that need it get 503 until it does',
        )
      }
      throw new StoreUnavailableError(error, sent)
    }
  }

  /** A call was answered: Redis answers again, if it had stopped. */
  #answered(): void {
    if (this.#answering) return
    this.#answering = true
    this.#log?.info({}, 'redis answers again: the store can serve')
  }

  async close(): Promise<void> {
    await this.#client.quit().catch(() => this.#client.disconnect())
  }

  async #readStatistics(): Promise<Readonly<Statistics>> {
    const replies = await this.#readAll((meta, args) => this.#client.txstatsSnapshot(meta, args))
    return this.#merge(replies, 1)
  }

  /**
   * Reads every shard, each at its own Redis's instant. Shards that answered at an earlier
   * instant than another are read again with that instant as a floor, until all agree, so the
   * merged answer is the window at one instant (with one shard, always at once).
   */
  async #readAll(read: (meta: string, args: string[]) => Promise<Reply>): Promise<Reply[]> {
    const call = (root: string, floor: string) =>
      read(`${root}meta`, [root, this.#at(), this.#windowMs, floor])
    const failed = this.#failure()
    try {
      const replies = await Promise.all(this.#roots.map((root) => call(root, this.#seen)))
      for (let round = 1; round < MAX_AGREEMENT_ROUNDS; round++) {
        const instant = Math.max(...replies.map((reply) => reply[0] as number))
        const lagging = replies.flatMap((reply, shard) => (reply[0] === instant ? [] : [shard]))
        if (lagging.length === 0) break
        const again = await Promise.all(
          lagging.map((shard) => call(this.#roots[shard] as string, String(instant))),
        )
        lagging.forEach((shard, i) => {
          replies[shard] = again[i] as Reply
        })
      }
      this.#answered()
      this.#seen = String(replies[0]?.[0])
      return replies
    } catch (error) {
      return failed(error)
    }
  }

  /** The exact statistics of the aggregates at `offset` in every reply. */
  #merge(replies: readonly Reply[], offset: number): Statistics {
    const limbs = this.#limbs
    limbs.fill(0)
    let count = 0
    let min = Number.POSITIVE_INFINITY
    let max = Number.NEGATIVE_INFINITY
    for (const reply of replies) {
      count += reply[offset] as number
      // Each shard's limb sums are integers below 2^37: their sum is exact.
      for (let i = 0; i < LIMB_COUNT; i++) {
        limbs[i] = (limbs[i] as number) + (reply[offset + 1 + i] as number)
      }
      const low = reply[offset + MIN_AT] as string
      const high = reply[offset + MAX_AT] as string
      if (low !== '') min = Math.min(min, Number(low))
      if (high !== '') max = Math.max(max, Number(high))
    }
    if (count === 0) return { ...EMPTY_STATISTICS }
    const statistics = { sum: 0, avg: 0, max, min, count }
    writeSumAndMean(limbs, count, statistics)
    return statistics
  }

  /** Appends a transaction's arguments: timestamp, limbs and text, or no text when not exact. */
  #pushTransaction(args: Array<string | number>, amount: number, timestamp: number): void {
    const limbs = this.#limbs
    if (writeLimbs(amount, limbs, 0)) {
      args.push(timestamp)
      for (let i = 0; i < LIMB_COUNT; i++) args.push(limbs[i] as number)
      args.push(String(amount === 0 ? 0 : amount))
    } else {
      args.push(timestamp)
      for (let i = 0; i < LIMB_COUNT; i++) args.push(0)
      args.push('')
    }
  }

  /** Writes go round the shards, a script call to one. */
  #pickShard(): string {
    this.#nextShard = (this.#nextShard + 1) % this.#roots.length
    return this.#roots[this.#nextShard] as string
  }

  #at(): string {
    return this.#clock ? String(Math.floor(this.#clock())) : ''
  }
}

function defineScripts(client: RedisClient): void {
  client.defineCommand('txstatsRecord', { numberOfKeys: 1, lua: RECORD })
  client.defineCommand('txstatsSnapshot', { numberOfKeys: 1, lua: SNAPSHOT })
  client.defineCommand('txstatsSeries', { numberOfKeys: 1, lua: SERIES })
  client.defineCommand('txstatsClear', { numberOfKeys: 1, lua: CLEAR })
}

/** ioredis's error for a command sent on an open connection and not answered in time. */
function isTimeout(error: unknown): boolean {
  return error instanceof Error && /timed out/i.test(error.message)
}
