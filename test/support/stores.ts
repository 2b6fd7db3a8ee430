import { Redis } from 'ioredis'
import { describe } from 'vitest'
import type { QuantileOptions } from '../../src/core/quantiles/settings.js'
import type { Clock } from '../../src/core/window/clock.js'
import { MemoryStore } from '../../src/store/memory.js'
import { connectRedis } from '../../src/store/redis/client.js'
import { RedisStore } from '../../src/store/redis/store.js'
import type { TransactionStore } from '../../src/store/store.js'

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

/** The stores every contract test runs against: memory, Redis, and Redis spread over shards. */
export const STORE_KINDS = ['memory', 'redis', 'redis, 3 shards'] as const
export type StoreKind = (typeof STORE_KINDS)[number]

/**
 * The HTTP contract suites run on memory and on one Redis: the HTTP layer must not know which it
 * talks to (the store contract and oracle suites cover shards).
 */
export const HTTP_STORE_KINDS: readonly StoreKind[] = ['memory', 'redis']

/**
 * Runs a suite once per store kind it names. Each test file declares the stores it covers here,
 * in the file, so a new suite cannot be left out of a list kept elsewhere.
 */
export function describeStores(
  kinds: readonly StoreKind[],
  suite: (kind: StoreKind) => void,
): void {
  describe.each(kinds)('on the %s store', suite)
}

export interface StoreOptions {
  clock: Clock
  windowMs?: number
  clockSkewMs?: number
  idempotencyBudgetBytes?: number
  idempotencyClientShareBytes?: number
  quantiles?: QuantileOptions | false
  dimensions?: readonly string[]
  dimensionMaxValues?: number
}

let opened = 0

/** A fresh, empty store of a kind: Redis stores get a prefix of their own. */
export async function openStore(
  kind: StoreKind,
  options: StoreOptions,
  /** Another store on the same Redis window: another instance of the service. */
  sharing?: string,
): Promise<TransactionStore> {
  if (kind === 'memory') return new MemoryStore(options)
  const client = connectRedis({ url: REDIS_URL, cluster: false, timeoutMs: 5_000 })
  const prefix = sharing ?? `test:${process.pid}:${++opened}:${Date.now()}:`
  const store = new RedisStore({
    client,
    prefix,
    shards: kind === 'redis' ? 1 : 3,
    ...options,
  })
  store.connect(silent)
  await waitUntilReady(store)
  prefixes.set(store, prefix)
  return store
}

const prefixes = new WeakMap<TransactionStore, string>()

/** The Redis prefix of a store openStore opened, to open another instance on its window. */
export function prefixOf(store: TransactionStore): string | undefined {
  return prefixes.get(store)
}

export async function waitUntilReady(store: TransactionStore, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await store.ready())) {
    if (Date.now() > deadline) throw new Error('the store did not become ready')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** Deletes every key under a prefix: tests leave Redis as they found it. */
export async function deleteKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL)
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
    if (keys.length > 0) await redis.del(...keys)
    cursor = next
  } while (cursor !== '0')
  await redis.quit()
}

export const silent = { info() {}, warn() {} }
