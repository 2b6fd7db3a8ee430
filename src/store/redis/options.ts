import type { QuantileOptions } from '../../core/quantiles/settings.js'
import type { Clock } from '../../core/window/clock.js'
import type { RedisClient } from './client.js'

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
