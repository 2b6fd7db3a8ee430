/**
 * Idempotency memory benchmark (not a test): what a remembered key takes against what it is
 * charged (entryBytes), at 1, 100 and 10 000 outcomes: V8 heap per entry of the memory store's
 * ledger, and Redis used_memory per entry of the Redis store. Prints figures.
 *
 * Run: npm run bench:idempotency   (REDIS_URL as for the tests)
 */
import { Redis } from 'ioredis'
import {
  entryBytes,
  type Idempotency,
  IdempotencyLedger,
} from '../src/core/idempotency/idempotency.js'
import type { RecordOutcome } from '../src/core/window/window.js'
import { FakeClock } from '../test/support/fake-clock.js'
import { openStore, REDIS_URL } from '../test/support/stores.js'

const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) throw new Error('run with node --expose-gc')

const FINGERPRINT_LENGTH = 43 // a SHA-256 in base64url, as the HTTP layer takes it
const once = (i: number): Idempotency => ({
  key: `0123456789abcdef/order-${String(i).padStart(8, '0')}`,
  fingerprint: `${'f'.repeat(FINGERPRINT_LENGTH - 8)}${String(i).padStart(8, '0')}`,
  client: '0123456789abcdef',
})

function heapUsed(): number {
  gc?.()
  gc?.()
  return process.memoryUsage().heapUsed
}

async function redisUsed(redis: Redis): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1])
}

console.log('outcomes  entries  charged/entry  memory heap/entry  Redis used_memory/entry')
const redis = new Redis(REDIS_URL)
for (const outcomes of [1, 100, 10_000]) {
  const entries = outcomes === 10_000 ? 1_000 : 20_000
  const list = new Array<RecordOutcome>(outcomes).fill('stored')
  const ledger = new IdempotencyLedger(60_000, 2 ** 40)
  const before = heapUsed()
  for (let i = 0; i < entries; i++) ledger.remember(once(i), list, i)
  const heap = (heapUsed() - before) / entries
  const charged = ledger.bytes / entries

  const clock = new FakeClock(1_700_000_000_000)
  const store = await openStore('redis', { clock: clock.read, idempotencyBudgetBytes: 2 ** 40 })
  const transactions = Array.from({ length: outcomes }, () => ({
    amount: 1,
    timestamp: clock.read(),
  }))
  const redisBefore = await redisUsed(redis)
  // Each a request the store has already seen the transactions of: only the key's cost grows.
  for (let i = 0; i < entries / 10; i++) await store.recordOnce(transactions, once(i))
  const redisPerEntry = ((await redisUsed(redis)) - redisBefore) / (entries / 10)
  await store.clear()
  await store.close()
  console.log(
    `${String(outcomes).padStart(8)}  ${String(entries).padStart(7)}  ${charged.toFixed(0).padStart(13)}  ${heap.toFixed(0).padStart(17)}  ${redisPerEntry.toFixed(0).padStart(23)}   (entryBytes ${entryBytes(once(0).key, once(0).fingerprint, outcomes)})`,
  )
}
redis.disconnect()
