import type { Config } from '../config.js'
import { MIB } from '../core/defaults.js'
import { MemoryStore } from './memory.js'
import { connectRedis } from './redis/client.js'
import { RedisStore } from './redis/store.js'
import type { TransactionStore } from './store.js'

/** What one client's remembered idempotency keys may be charged, in bytes. */
export function idempotencyClientShareBytes(config: Config): number {
  return Math.floor((config.IDEMPOTENCY_MEMORY_MB * MIB * config.IDEMPOTENCY_CLIENT_SHARE) / 100)
}

/** What both stores are built with, from the configuration. */
export function windowOptions(config: Config) {
  return {
    windowMs: config.WINDOW_MS,
    clockSkewMs: config.CLOCK_SKEW_MS,
    idempotencyRetentionMs: config.idempotencyRetentionMs,
    idempotencyBudgetBytes: config.IDEMPOTENCY_MEMORY_MB * MIB,
    idempotencyClientShareBytes: idempotencyClientShareBytes(config),
    quantiles: config.QUANTILES && {
      accuracy: config.QUANTILE_ACCURACY,
      budgetBytes: config.QUANTILE_MEMORY_MB * MIB,
    },
    dimensions: config.dimensions,
    dimensionMaxValues: config.DIMENSION_MAX_VALUES,
  }
}

/** The store the configuration names. */
export function createStore(config: Config): TransactionStore {
  const window = windowOptions(config)
  if (config.STORE === 'memory') {
    return new MemoryStore({
      ...window,
      dimensionBudgetBytes: config.DIMENSION_MEMORY_MB * MIB,
    })
  }
  const client = connectRedis({
    url: config.REDIS_URL,
    cluster: config.REDIS_CLUSTER,
    timeoutMs: config.REDIS_TIMEOUT_MS,
  })
  return new RedisStore({
    client,
    prefix: config.REDIS_PREFIX,
    shards: config.REDIS_SHARDS,
    waitReplicas: config.REDIS_WAIT_REPLICAS,
    flushMs: config.REDIS_FLUSH_MS,
    timeoutMs: config.REDIS_TIMEOUT_MS,
    ...window,
  })
}
