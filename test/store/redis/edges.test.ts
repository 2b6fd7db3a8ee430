import { afterAll, describe, expect, it } from 'vitest'
import { connectRedis } from '../../../src/store/redis/client.js'
import { RedisStore } from '../../../src/store/redis/store.js'
import type { RecordOutcome } from '../../../src/store/store.js'
import { deleteKeys, REDIS_URL, silent, waitUntilReady } from '../../support/stores.js'

const PREFIX = `test:edges:${process.pid}:${Date.now()}:`
const opened: RedisStore[] = []
afterAll(async () => {
  for (const store of opened) await store.close()
  await deleteKeys(PREFIX)
})

/** Another instance on the window, on Redis's own clock (no clock injected). */
async function instance(): Promise<RedisStore> {
  const client = connectRedis({ url: REDIS_URL, cluster: false, timeoutMs: 5_000 })
  const store = new RedisStore({ client, prefix: PREFIX, quantiles: false })
  store.connect(silent)
  await waitUntilReady(store)
  opened.push(store)
  return store
}

describe('writers recording across an edge of the window, on Redis’s own clock', () => {
  it('record every batch, whatever the instant Redis reads, judging each transaction at it', async () => {
    for (let k = 0; k < 4; k++) await instance()
    // One transaction a millisecond across the 60 s edge: whatever instant a call is judged
    // at, some of its transactions are a millisecond either side of it.
    const batch = () => {
      const now = Date.now()
      return Array.from({ length: 500 }, (_, i) => ({ amount: 1, timestamp: now - 60_250 + i }))
    }
    const results = await Promise.all(
      opened.flatMap((store) => Array.from({ length: 5 }, () => store.record(batch()))),
    )
    for (const outcomes of results as RecordOutcome[][]) {
      // Judged at one instant: every transaction older than the others' is too old.
      const firstStored = outcomes.indexOf('stored')
      expect(firstStored).toBeGreaterThan(0)
      expect(outcomes.slice(0, firstStored).every((outcome) => outcome === 'tooOld')).toBe(true)
      expect(outcomes.slice(firstStored).every((outcome) => outcome === 'stored')).toBe(true)
    }
  })
})
