import { describe, expect, it } from 'vitest'
import { coalesce } from '../../../src/store/redis/coalesce.js'
import type { RedisStore } from '../../../src/store/redis/store.js'
import { FakeClock } from '../../support/fake-clock.js'
import { openStore } from '../../support/stores.js'

describe('shared reads on Redis', () => {
  it('let a query go once no read of it is in flight, so distinct queries never fill the map', async () => {
    const clock = new FakeClock(1_700_000_000_000)
    const store = (await openStore('redis', { clock: clock.read })) as RedisStore
    try {
      await store.record([{ amount: 5, timestamp: clock.read() }])
      for (let windowMs = 1; windowMs <= 300; windowMs++)
        await store.statistics({ windowMs: windowMs * 10 })
      expect(store.sharedReads).toBe(0)
      // Still shared afterwards: concurrent readers of one query are one entry, then none.
      const answers = Array.from({ length: 8 }, () => store.statistics({ windowMs: 5 }))
      expect(store.sharedReads).toBe(1)
      for (const answer of await Promise.all(answers)) expect(answer.count).toBe(1)
      expect(store.sharedReads).toBe(0)
    } finally {
      await store.close()
    }
  })

  it('say when no read is in flight or waiting', async () => {
    let release = () => {}
    const read = coalesce(() => new Promise<number>((resolve) => (release = () => resolve(1))))
    expect(read.idle()).toBe(true)
    const first = read()
    const second = read()
    expect(read.idle()).toBe(false)
    release()
    await first
    expect(read.idle()).toBe(false) // the second waits for a read of its own
    await new Promise((resolve) => setImmediate(resolve)) // which starts once the first settled
    release()
    await second
    expect(read.idle()).toBe(true)
  })
})
