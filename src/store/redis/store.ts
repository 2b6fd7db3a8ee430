import { LIMB_COUNT } from '../../core/amount/amount.js'
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
import { quantileSettings } from '../../core/quantiles/settings.js'
import {
  queryKey,
  type Series,
  type Statistics,
  type StatisticsQuery,
} from '../../core/window/statistics.js'
import { checkQueryWindow } from '../../core/window/window.js'
import type { ConnectionLog, RecordOutcome, Transaction, TransactionStore } from '../store.js'
import { breakdownHead, mergeBreakdown, readSteps } from './breakdown.js'
import type { RedisClient } from './client.js'
import { type Coalesced, coalesce } from './coalesce.js'
import {
  addQuantileCounts,
  breakdownArgs,
  defineScripts,
  preludeArgs,
  type Reply,
  recordCommand,
  seriesArgs,
  seriesPoints,
  snapshotArgs,
  snapshotStatistics,
  valueArgs,
  valueStatistics,
} from './commands.js'
import type { RedisStoreOptions } from './options.js'
import { settingsOf } from './settings.js'
import { ShardSet } from './shard-set.js'
import { metaKey, shardOfKey } from './shards.js'
import { type ValidTransactions, validTimestamps, withNone } from './valid-transactions.js'
import { RedisWrites } from './writes.js'

export type { RedisStoreOptions } from './options.js'

/**
 * Distinct queries whose readers share reads. A handful are asked in practice (the dashboard's,
 * a few monitors'); beyond the bound a query is read on its own, so the map cannot grow with
 * whatever a client invents.
 */
const MAX_COALESCED_QUERIES = 256

/**
 * The window in Redis, shared by every instance that names the same Redis and prefix. Each call
 * is one script per shard, one round trip: a record writes the blocks it changed in this
 * process's partition (writes.ts), two hashes per millisecond it touches; a read touches at most
 * as many blocks as the core's snapshot, per partition. Failures become StoreUnavailableError.
 */
export class RedisStore implements TransactionStore {
  readonly #shards: ShardSet
  readonly #client: RedisClient
  readonly #roots: readonly string[]
  readonly #windowMs: string
  readonly #clockSkewMs: string
  readonly #limbs = new Float64Array(LIMB_COUNT)
  /** Undefined when quantiles are off. */
  readonly #mapping: QuantileMapping | undefined
  readonly #counts: QuantileCounts | undefined
  /** Undefined when quantiles are off: no sketch is kept. */
  readonly #quantiles: { mapping: QuantileMapping; budget: number } | undefined
  readonly #dimensions: readonly string[]
  /** Concurrent reads of the whole window share one round trip (see coalesce). */
  readonly #plainStatistics: () => Promise<Readonly<Statistics>>
  /** The same for each query (and breakdown) asked, up to MAX_COALESCED_QUERIES of them. */
  readonly #queries = new Map<string, Coalesced<unknown>>()
  /** Per shard: the writes gathered while a call is in flight share the next (see batchWrites). */
  readonly #writes: RedisWrites

  constructor(options: RedisStoreOptions) {
    this.#windowMs = String(options.windowMs ?? DEFAULT_WINDOW_MS)
    this.#clockSkewMs = String(options.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS)
    const windowMs = options.windowMs ?? DEFAULT_WINDOW_MS
    const skewMs = options.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS
    const retentionMs = String(options.idempotencyRetentionMs ?? windowMs + skewMs)
    const budgetBytes = String(options.idempotencyBudgetBytes ?? DEFAULT_IDEMPOTENCY_BUDGET_BYTES)
    const clientShareBytes = String(options.idempotencyClientShareBytes ?? budgetBytes)
    const quantiles = options.quantiles ?? {}
    if (quantiles !== false) {
      this.#quantiles = quantileSettings(quantiles, windowMs, skewMs)
      this.#mapping = this.#quantiles.mapping
      this.#counts = new QuantileCounts(this.#mapping)
    }
    this.#dimensions = options.dimensions ?? []
    const maxValues = String(options.dimensionMaxValues ?? DEFAULT_MAX_VALUES)
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
    const features = { dimensions: this.#dimensions.length > 0 }
    this.#writes = new RedisWrites(
      this.#shards,
      {
        clockSkewMs: this.#clockSkewMs,
        retentionMs: retentionMs,
        budgetBytes: budgetBytes,
        clientShareBytes: clientShareBytes,
        quantiles: this.#quantiles,
        dimensions: this.#dimensions,
        maxValues: maxValues,
        command: recordCommand(features),
      },
      options.flushMs ?? 0,
    )
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
    return this.#writes.write(shard, valid.transactions, once)
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
        breakdownArgs(queryWindow, dimension),
      )
    ).map(breakdownHead)
    const steps = await Promise.all(
      heads.map((head, shard) => {
        const root = this.#roots[shard] as string
        const common = [
          ...preludeArgs(root, '', this.#windowMs, ''),
          ...breakdownArgs(queryWindow, dimension),
        ]
        return readSteps(head, (step) =>
          this.#client
            .txstatsBreakdownBuffer(metaKey(root), [...common, ...step])
            .catch(this.#shards.readFailure()),
        )
      }),
    )
    return mergeBreakdown(query, heads, steps)
  }

  async series(windowMs?: number): Promise<Series> {
    if (!this.#shards.allUp()) return this.#shards.unavailable()
    const queryWindow = this.#queryWindow(windowMs)
    const replies = await this.#shards.readAll(
      (meta, args) => this.#client.txstatsSeries(meta, args),
      seriesArgs(queryWindow),
    )
    const at = replies[0]?.[0] as number
    return { at, windowMs: Number(queryWindow), points: seriesPoints(replies, this.#limbs) }
  }

  async clear(): Promise<void> {
    if (!this.#shards.allUp()) return this.#shards.unavailable()
    await Promise.all(
      this.#roots.map((root, shard) =>
        this.#client
          .txstatsClear(metaKey(root))
          .then(() => this.#shards.health.answered(shard), this.#shards.failure(shard)),
      ),
    )
  }

  /**
   * Connects to Redis, reporting to `log` when the connection is lost and when it is back, then
   * asks every shard once, so that each shard's node is connected before the first write (a
   * pipeline, with REDIS_WAIT_REPLICAS, is written straight to its node's connection). Settles
   * once the first attempt has succeeded or failed; throws StoreSettingsError when a shard holds
   * a window kept with other settings (DIMENSIONS, WINDOW_MS, CLOCK_SKEW_MS or the quantile
   * accuracy): this instance would corrupt it.
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
        valueArgs(queryWindow, this.#dimension(dimensionValue.dimension), dimensionValue.value),
      )
      return valueStatistics(replies, this.#limbs)
    }
    const quantiles = query?.quantiles
    const replies = await this.#shards.readAll(
      (meta, args) => this.#client.txstatsSnapshot(meta, args),
      snapshotArgs(queryWindow, quantiles && { clockSkewMs: this.#clockSkewMs }),
    )
    const statistics = snapshotStatistics(replies, this.#limbs)
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
    const { edgeMs, min, max } = addQuantileCounts(replies, counts)
    return { ...statistics, quantiles: counts.answer(quantiles, min, max), quantileEdgeMs: edgeMs }
  }

  /** The window a query asks, checked as the core checks it: 1 ms to the window, as text. */
  #queryWindow(windowMs: number | undefined): string {
    if (windowMs === undefined) return this.#windowMs
    return String(checkQueryWindow(windowMs, Number(this.#windowMs)))
  }
}
