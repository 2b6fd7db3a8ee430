import { LIMB_COUNT } from '../../core/amount/amount.js'
import { writeSumAndMean } from '../../core/amount/exact-sum.js'
import { LEVELS } from '../../core/blocks/levels.js'
import {
  DEFAULT_CLOCK_SKEW_MS,
  DEFAULT_IDEMPOTENCY_BUDGET_BYTES,
  DEFAULT_MAX_VALUES,
  DEFAULT_WINDOW_MS,
} from '../../core/defaults.js'
import type { Breakdown, BreakdownQuery } from '../../core/dimensions/breakdown.js'
import {
  fromLetters,
  type Idempotency,
  type RecordedOnce,
} from '../../core/idempotency/idempotency.js'
import { QuantileCounts } from '../../core/quantiles/quantile-counts.js'
import type { QuantileMapping } from '../../core/quantiles/quantile-mapping.js'
import { type QuantileOptions, quantileSettings } from '../../core/quantiles/settings.js'
import type { Clock } from '../../core/window/clock.js'
import {
  EMPTY_STATISTICS,
  queryKey,
  type Series,
  type SeriesPoint,
  type Statistics,
  type StatisticsQuery,
} from '../../core/window/statistics.js'
import { checkQueryWindow } from '../../core/window/window.js'
import type { ConnectionLog, RecordOutcome, Transaction, TransactionStore } from '../store.js'
import { batchWrites } from './batch-writes.js'
import { breakdownHead, breakdownSteps, mergeBreakdown } from './breakdown.js'
import type { RedisClient } from './client.js'
import { type Coalesced, coalesce } from './coalesce.js'
import {
  AGGREGATE_WIDTH,
  defineScripts,
  MAX_AT,
  MIN_AT,
  pushBlock,
  pushDelta,
  type RecordCommand,
  type Reply,
  recordCommand,
} from './commands.js'
import { ReplicasBehindError } from './errors.js'
import { type Folded, fold, foldBlocks, unfold } from './fold.js'
import { settingsOf } from './settings.js'
import { ShardSet } from './shard-set.js'
import { shardOfKey } from './shards.js'
import { type ValidTransactions, validTimestamps, withNone } from './valid-transactions.js'

/** The record commands, one per set of features (see recordCommand). */
/** How the Redis store is built: its client and keys, the window's options and its features'. */
export interface RedisStoreOptions {
  /** A connected ioredis client or cluster (see connectRedis). */
  client: RedisClient
  /**
   * Starts every key; the hash tags follow it.
   * @default 'txstats:'
   */
  prefix?: string
  /**
   * Windows to spread writes over; a read merges them all.
   * @default 1
   */
  shards?: number
  /** @default DEFAULT_WINDOW_MS (60 000) */
  windowMs?: number
  /** @default DEFAULT_CLOCK_SKEW_MS (2 000) */
  clockSkewMs?: number
  /**
   * The window's instant from this clock instead of Redis's TIME: for tests.
   * @default Redis's TIME
   */
  clock?: Clock
  /**
   * How long an idempotency key is remembered, in ms: at least the window plus the skew.
   * @default windowMs + clockSkewMs
   */
  idempotencyRetentionMs?: number
  /**
   * The most the remembered keys of a shard may be charged, in bytes (see entryBytes).
   * @default DEFAULT_IDEMPOTENCY_BUDGET_BYTES (256 MiB)
   */
  idempotencyBudgetBytes?: number
  /**
   * The most one client's remembered keys may be charged, in bytes.
   * @default idempotencyBudgetBytes
   */
  idempotencyClientShareBytes?: number
  /**
   * Replicas that must have a write before it is answered (WAIT); 0 answers at once.
   * @default 0
   */
  waitReplicas?: number
  /**
   * How long a command may take, in ms: WAIT waits for the replicas half of it.
   * @default 1 000
   */
  timeoutMs?: number
  /**
   * How long writes wait to share a script call, in ms; 0: the writes of one event-loop turn.
   * @default 0
   */
  flushMs?: number
  /**
   * How quantile sketches are kept, per shard, as the core keeps them.
   * @default false
   */
  quantiles?: QuantileOptions | false
  /**
   * The names of the transactions' dimensions (see dimensions/names.ts).
   * @default []
   */
  dimensions?: readonly string[]
  /**
   * Values tracked at once per dimension, per shard.
   * @default DEFAULT_MAX_VALUES (1 000)
   */
  dimensionMaxValues?: number
}

/** The transactions of one request, with its idempotency key if it has one. */
interface WriteGroup {
  transactions: readonly Transaction[]
  once: Idempotency | undefined
}

/** What the script did with a group: its outcomes' letters, its state, and a wait (see recordScript). */
interface GroupReply {
  letters: string
  state: string
  waitMs: number
}

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
/**
 * Distinct queries whose readers share reads. A handful are asked in practice (the dashboard's,
 * a few monitors'); beyond the bound a query is read on its own, so the map cannot grow with
 * whatever a client invents.
 */
const MAX_COALESCED_QUERIES = 256
/** Rounds for shards to agree on one instant before a read is answered (see #readAll). */
const _MAX_AGREEMENT_ROUNDS = 4

/**
 * The window in Redis, shared by every instance that names the same Redis and prefix. Each call
 * is one script per shard, one round trip: a record touches two hashes per transaction; a read
 * touches at most as many blocks as the core's snapshot. Failures become StoreUnavailableError.
 */
export class RedisStore implements TransactionStore {
  readonly #shards: ShardSet
  readonly #client: RedisClient
  readonly #roots: readonly string[]
  readonly #windowMs: string
  readonly #clockSkewMs: string
  readonly #clock: Clock | undefined
  readonly #limbs = new Float64Array(LIMB_COUNT)
  readonly #retentionMs: string
  readonly #budgetBytes: string
  readonly #clientShareBytes: string
  /** Undefined when quantiles are off. */
  readonly #mapping: QuantileMapping | undefined
  readonly #counts: QuantileCounts | undefined
  /** '' when quantiles are off: the scripts then keep no sketch. */
  readonly #sketchBudget: string
  readonly #dimensions: readonly string[]
  readonly #maxValues: string
  /** The record command defined for this store's features (see recordCommand). */
  readonly #record: RecordCommand
  /** Concurrent reads of the whole window share one round trip (see coalesce). */
  readonly #plainStatistics: () => Promise<Readonly<Statistics>>
  /** The same for each query (and breakdown) asked, up to MAX_COALESCED_QUERIES of them. */
  readonly #queries = new Map<string, Coalesced<unknown>>()
  /** Per shard: the writes of one turn of the event loop share one script call (see batchWrites). */
  readonly #writers: Array<(groups: readonly WriteGroup[]) => Promise<GroupReply[]>>

  constructor(options: RedisStoreOptions) {
    this.#windowMs = String(options.windowMs ?? DEFAULT_WINDOW_MS)
    this.#clockSkewMs = String(options.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS)
    this.#clock = options.clock
    const windowMs = options.windowMs ?? DEFAULT_WINDOW_MS
    const skewMs = options.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS
    this.#retentionMs = String(options.idempotencyRetentionMs ?? windowMs + skewMs)
    this.#budgetBytes = String(options.idempotencyBudgetBytes ?? DEFAULT_IDEMPOTENCY_BUDGET_BYTES)
    this.#clientShareBytes = String(options.idempotencyClientShareBytes ?? this.#budgetBytes)
    const quantiles = options.quantiles ?? {}
    if (quantiles === false) {
      this.#sketchBudget = ''
    } else {
      const { mapping, budget } = quantileSettings(quantiles, windowMs, skewMs)
      this.#mapping = mapping
      this.#counts = new QuantileCounts(mapping)
      this.#sketchBudget = String(budget)
    }
    this.#dimensions = options.dimensions ?? []
    this.#maxValues = String(options.dimensionMaxValues ?? DEFAULT_MAX_VALUES)
    this.#shards = new ShardSet({
      client: options.client,
      prefix: options.prefix ?? 'txstats:',
      shards: options.shards ?? 1,
      windowMs: this.#windowMs,
      clock: options.clock,
      settings: settingsOf(windowMs, skewMs, this.#dimensions, this.#mapping?.accuracy),
      waitReplicas: options.waitReplicas ?? 0,
      waitMs: Math.max(1, Math.floor((options.timeoutMs ?? 1_000) / 2)),
    })
    this.#client = options.client
    this.#roots = this.#shards.roots
    this.#plainStatistics = coalesce(() => this.#readStatistics())
    this.#writers = this.#roots.map((_, shard) =>
      batchWrites(
        (groups: WriteGroup[]) => this.#writeNow(shard, groups),
        WRITE_BATCH_MAX,
        (group) => group.transactions.length,
        options.flushMs ?? 0,
      ),
    )
    const features = {
      sketches: this.#sketchBudget !== '',
      dimensions: this.#dimensions.length > 0,
    }
    this.#record = recordCommand(features)
    defineScripts(this.#client, features)
  }

  record(transactions: readonly Transaction[]): RecordOutcome[] | Promise<RecordOutcome[]> {
    const valid = validTimestamps(transactions)
    if (valid === undefined) return transactions.map(() => 'invalidTimestamp')
    const shard = this.#shards.pick()
    if (shard === undefined) return this.#shards.unavailable()
    return this.#write(shard, valid, undefined).then(({ letters }) =>
      valid.outcomes(fromLetters(letters)),
    )
  }

  recordOnce(transactions: readonly Transaction[], once: Idempotency): Promise<RecordedOnce> {
    const valid = validTimestamps(transactions) ?? withNone(transactions)
    // A key always goes to one shard, the one that remembers it, wherever it is sent from.
    const shard = shardOfKey(once.key, this.#roots.length)
    if (!this.#shards.health.up(shard)) return this.#shards.unavailable()
    return this.#write(shard, valid, once).then(({ letters, state, waitMs }) => {
      if (state === 'm') return { kind: 'mismatch' }
      if (state === 'b') return { kind: 'full', retryAfterMs: waitMs }
      return {
        kind: 'recorded',
        outcomes: valid.outcomes(fromLetters(letters)),
        replayed: state === 'r',
      }
    })
  }

  #write(shard: number, valid: ValidTransactions, once: Idempotency | undefined) {
    const writer = this.#writers[shard] as (groups: readonly WriteGroup[]) => Promise<GroupReply[]>
    return writer([{ transactions: valid.transactions, once }]).then(
      (replies) => replies[0] as GroupReply,
    )
  }

  /**
   * One script call for the groups of a turn, on a shard. The transactions are folded per
   * millisecond first (fold.ts): those without a key all together, each keyed request on its own
   * (its record depends on its key), so Redis does its work once per millisecond touched, not
   * once per transaction.
   */
  #writeNow(shard: number, groups: readonly WriteGroup[]): Promise<GroupReply[]> {
    const root = this.#roots[shard] as string
    const ttlFloor = this.#clock ? INJECTED_CLOCK_TTL_MS : 0
    const args: Array<string | number> = [
      root,
      this.#shards.at(),
      this.#windowMs,
      this.#shards.seen,
      this.#clockSkewMs,
      ttlFloor,
      this.#retentionMs,
      this.#budgetBytes,
      this.#sketchBudget,
      this.#dimensions.length,
      this.#maxValues,
      this.#clientShareBytes,
    ]
    // What goes to the script: the groups without a key folded together, then each keyed one.
    const unkeyed = groups.filter(({ once }) => once === undefined)
    const sent: Array<{
      once: Idempotency | undefined
      owners: readonly WriteGroup[]
      folded: Folded
    }> = groups
      .filter(({ once }) => once !== undefined)
      .map((group) => ({
        once: group.once,
        owners: [group],
        folded: fold(group.transactions, this.#mapping, this.#dimensions),
      }))
    if (unkeyed.length > 0) {
      const all =
        unkeyed.length === 1
          ? (unkeyed[0] as WriteGroup).transactions
          : unkeyed.flatMap((g) => g.transactions)
      sent.unshift({
        once: undefined,
        owners: unkeyed,
        folded: fold(all, this.#mapping, this.#dimensions),
      })
    }
    for (const { once, folded } of sent) {
      args.push(
        once?.key ?? '',
        once?.fingerprint ?? '',
        once?.client ?? '',
        folded.deltaOf.length,
        folded.deltas.length,
        0, // how many arguments the deltas take: set below
      )
      const width = args.length - 1
      for (const delta of folded.deltas) pushDelta(args, delta)
      for (let level = 1; level < LEVELS.length; level++) {
        const blocks = foldBlocks(folded.deltas, LEVELS[level] as number)
        args.push(blocks.length)
        for (const block of blocks) pushBlock(args, block)
      }
      args[width] = args.length - width - 1
    }
    const failed = this.#shards.failure(shard)
    return this.#recordCall(root, args).then(([now, letters, states, waitMs]) => {
      this.#shards.health.answered(shard)
      this.#shards.seen = String(now)
      // Letters come one per delta, group after group: back to one per transaction.
      const replies = new Map<WriteGroup, GroupReply>()
      let at = 0
      sent.forEach(({ folded, owners }, i) => {
        const count = folded.deltas.length
        const ofTransactions = unfold(letters.slice(at, at + count), folded)
        at += count
        const state = states[i] ?? 'n'
        let from = 0
        for (const owner of owners) {
          const n = owner.transactions.length
          replies.set(owner, { letters: ofTransactions.slice(from, from + n), state, waitMs })
          from += n
        }
      })
      return groups.map((group) => replies.get(group) as GroupReply)
    }, failed)
  }

  /**
   * The record script, and with REDIS_WAIT_REPLICAS, WAIT after it on the same connection (a
   * pipeline goes to the node of its keys): answered only once that many replicas have the write.
   */
  async #recordCall(
    root: string,
    args: Array<string | number>,
  ): Promise<[number, string, string, number]> {
    if (this.#shards.waitReplicas === 0) return this.#client[this.#record](`${root}meta`, args)
    const results = await this.#client
      .pipeline()
      [this.#record](`${root}meta`, args)
      .wait(this.#shards.waitReplicas, this.#shards.waitMs)
      .exec()
    const [recorded, waited] = results ?? []
    if (recorded?.[0]) throw recorded[0]
    if (waited?.[0]) throw waited[0]
    if ((waited?.[1] as number) < this.#shards.waitReplicas) {
      throw new ReplicasBehindError(this.#shards.waitReplicas, waited?.[1] as number)
    }
    return recorded?.[1] as [number, string, string, number]
  }

  statistics(query?: StatisticsQuery): Promise<Readonly<Statistics>> {
    if (query === undefined) return this.#plainStatistics()
    if (query.dimensionValue !== undefined) {
      if (query.quantiles !== undefined) throw new RangeError('quantiles are not kept per value')
      this.#dimension(query.dimensionValue.dimension)
    }
    // Readers asking the same share reads too: a quantile read is Redis's costliest call.
    return this.#shared(queryKey(query), () => this.#readStatistics(query))
  }

  breakdown(query: BreakdownQuery): Promise<Breakdown> {
    const dimension = this.#dimension(query.dimension)
    const queryWindow = this.#queryWindow(query.windowMs)
    const key = `breakdown:${dimension}:${queryWindow}:${query.order}:${query.limit}`
    return this.#shared(key, () => this.#readBreakdown(query, dimension, queryWindow))
  }

  /**
   * Concurrent readers of one key share one read, for up to MAX_COALESCED_QUERIES keys at once: a
   * key is let go as soon as no read of it is in flight or waiting, so the map holds only the
   * keys being read now, never every key ever asked.
   */
  #shared<T>(key: string, read: () => Promise<T>): Promise<T> {
    let shared = this.#queries.get(key)
    if (shared === undefined) {
      if (this.#queries.size >= MAX_COALESCED_QUERIES) return read()
      shared = coalesce(read)
      this.#queries.set(key, shared)
    }
    const coalesced = shared
    const answer = coalesced() as Promise<T>
    const letGo = () => {
      if (this.#queries.get(key) === coalesced && coalesced.idle()) this.#queries.delete(key)
    }
    answer.then(letGo, letGo)
    return answer
  }

  /** How many keys' reads are shared now (see #shared). */
  get sharedReads(): number {
    return this.#queries.size
  }

  /** A dimension's number in the scripts (1-based); a RangeError for a name not configured. */
  #dimension(name: string): number {
    const at = this.#dimensions.indexOf(name)
    if (at < 0) throw new RangeError(`no dimension is named ${name}`)
    return at + 1
  }

  /**
   * A breakdown: each shard's first call fixes the instant (shards agreeing on one, as any read)
   * and lists its values, then the shard's values are read in steps of BREAKDOWN_STEP_VALUES at
   * that instant, shards side by side. A record landing between two steps is counted or not, as
   * one landing between two shards' reads is.
   */
  async #readBreakdown(query: BreakdownQuery, dimension: number, queryWindow: string) {
    if (!this.#shards.allUp()) return this.#shards.unavailable()
    const heads = (
      await this.#shards.readAll(
        (meta, args) => this.#client.txstatsBreakdown(meta, args),
        [queryWindow, String(dimension)],
      )
    ).map(breakdownHead)
    const steps = await Promise.all(
      heads.map(async (head, shard) => {
        const root = this.#roots[shard] as string
        const replies: Reply[] = []
        for (const step of breakdownSteps(head)) {
          const args = [root, '', this.#windowMs, '', queryWindow, String(dimension), ...step]
          replies.push(
            await this.#client
              .txstatsBreakdown(`${root}meta`, args)
              .catch(this.#shards.readFailure()),
          )
        }
        return replies
      }),
    )
    return mergeBreakdown(query, heads, steps)
  }

  async series(windowMs?: number): Promise<Series> {
    if (!this.#shards.allUp()) return this.#shards.unavailable()
    const queryWindow = this.#queryWindow(windowMs)
    const replies = await this.#shards.readAll(
      (meta, args) => this.#client.txstatsSeries(meta, args),
      [queryWindow],
    )
    const at = replies[0]?.[0] as number
    const points: SeriesPoint[] = []
    const first = replies[0] as Reply
    for (let offset = 1; offset < first.length; offset += AGGREGATE_WIDTH + 1) {
      const { count, sum, min, max } = this.#merge(replies, offset + 1)
      points.push({ second: first[offset] as number, count, sum, min, max })
    }
    return { at, windowMs: Number(queryWindow), points }
  }

  async clear(): Promise<void> {
    if (!this.#shards.allUp()) return this.#shards.unavailable()
    await Promise.all(
      this.#roots.map((root, shard) =>
        this.#client
          .txstatsClear(`${root}meta`)
          .then(() => this.#shards.health.answered(shard), this.#shards.failure(shard)),
      ),
    )
  }

  /**
   * Connects to Redis, reporting to `log` when the connection is lost and when it is back, then
   * asks every shard once, so that each shard's node is connected before the first write (a
   * pipeline, with REDIS_WAIT_REPLICAS, is written straight to its node's connection). Settles
   * once the first attempt has succeeded or failed; throws StoreSettingsError when a shard holds a window kept with other settings (the dimensions,
   * DIMENSIONS, WINDOW_MS, CLOCK_SKEW_MS or quantile accuracy): this instance would corrupt it.
   */
  connect(log: ConnectionLog): Promise<void> {
    return this.#shards.connect(log)
  }

  ready(): Promise<boolean> {
    return this.#shards.ready()
  }

  async close(): Promise<void> {
    await this.#client.quit().catch(() => this.#client.disconnect())
  }

  async #readStatistics(query?: StatisticsQuery): Promise<Readonly<Statistics>> {
    if (!this.#shards.allUp()) return this.#shards.unavailable()
    const queryWindow = this.#queryWindow(query?.windowMs)
    const dimensionValue = query?.dimensionValue
    if (dimensionValue !== undefined) {
      const replies = await this.#shards.readAll(
        (meta, args) => this.#client.txstatsValue(meta, args),
        [queryWindow, String(this.#dimension(dimensionValue.dimension)), dimensionValue.value],
      )
      const incomplete = replies.some((reply) => reply[1 + AGGREGATE_WIDTH] === 1)
      return { ...this.#merge(replies, 1), incomplete }
    }
    const quantiles = query?.quantiles
    const extra =
      quantiles === undefined
        ? [queryWindow]
        : [queryWindow, this.#clockSkewMs, String(this.#clock ? INJECTED_CLOCK_TTL_MS : 0)]
    const replies = await this.#shards.readAll(
      (meta, args) => this.#client.txstatsSnapshot(meta, args),
      extra,
    )
    const statistics = this.#merge(replies, 1)
    if (quantiles === undefined) return statistics
    return this.#withQuantiles(statistics, replies, quantiles)
  }

  /**
   * The shards' sketches merged and answered as the core answers them (QuantileCounts): the
   * edge is the coarsest any shard had to cut at, the extremes those of every shard's set.
   */
  #withQuantiles(
    statistics: Statistics,
    replies: readonly Reply[],
    quantiles: readonly number[],
  ): Statistics {
    const counts = this.#counts
    if (counts === undefined) throw new Error('this store keeps no quantile sketches')
    let edgeMs = 1
    let min = Number.POSITIVE_INFINITY
    let max = Number.NEGATIVE_INFINITY
    const at = 1 + AGGREGATE_WIDTH
    for (const reply of replies) {
      edgeMs = Math.max(edgeMs, reply[at] as number)
      const low = reply[at + 1] as string
      const high = reply[at + 2] as string
      if (low !== '') min = Math.min(min, Number(low))
      if (high !== '') max = Math.max(max, Number(high))
      for (let i = at + 3; i < reply.length; i += 2) {
        counts.add(Number(reply[i]), reply[i + 1] as number)
      }
    }
    const answer = counts.answer(quantiles, min, max)
    return { ...statistics, quantiles: answer, quantileEdgeMs: edgeMs }
  }

  /** The window a query asks, checked as the core checks it: 1 ms to the window, as text. */
  #queryWindow(windowMs: number | undefined): string {
    if (windowMs === undefined) return this.#windowMs
    return String(checkQueryWindow(windowMs, Number(this.#windowMs)))
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
}
