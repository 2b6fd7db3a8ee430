import { describe, expect, it } from 'vitest'
import { PROBE_INTERVAL_MS, ShardHealth } from '../../../src/store/redis/shard-health.js'
import { FakeClock } from '../../support/fake-clock.js'

function health(answers: () => boolean) {
  const clock = new FakeClock(0)
  const lines: string[] = []
  let probes = 0
  const shards = new ShardHealth({
    shards: 3,
    probe: async () => {
      probes++
      if (!answers()) throw new Error('still down')
    },
    log: () => ({
      info() {},
      warn: (details, message) => lines.push(`${JSON.stringify(details)} ${message}`),
    }),
    now: clock.read,
  })
  return { shards, clock, lines, probes: () => probes }
}

const settled = () => new Promise((resolve) => setImmediate(resolve))

describe('ShardHealth', () => {
  it('marks a shard down on a failure, the others staying up, and logs the outage once', () => {
    const { shards, lines } = health(() => false)
    shards.failed(1, new Error('Command timed out'))
    shards.failed(1, new Error('Command timed out'))
    expect([shards.up(0), shards.up(1), shards.up(2)]).toEqual([true, false, true])
    expect(shards.allUp).toBe(false)
    expect(lines).toEqual([
      expect.stringMatching(/"shard":1,"cause":"Command timed out".*does not answer/),
    ])
  })

  it('probes a down shard only when asked, at most once per interval and one at a time', async () => {
    const { shards, clock, probes } = health(() => false)
    shards.failed(0, 'down')
    shards.up(0)
    expect(probes()).toBe(0) // not before the interval
    clock.advance(PROBE_INTERVAL_MS)
    shards.up(0)
    shards.up(0)
    expect(probes()).toBe(1)
    await settled()
    clock.advance(PROBE_INTERVAL_MS - 1)
    shards.up(0)
    expect(probes()).toBe(1)
    clock.advance(1)
    shards.up(0)
    expect(probes()).toBe(2)
  })

  it('is up again once a probe is answered, and logs the end of the outage once', async () => {
    let answering = false
    const { shards, clock, lines } = health(() => answering)
    shards.failed(2, 'down')
    answering = true
    clock.advance(PROBE_INTERVAL_MS + 250)
    expect(shards.up(2)).toBe(false)
    await settled()
    expect(shards.up(2)).toBe(true)
    expect(shards.allUp).toBe(true)
    expect(lines).toHaveLength(2)
    expect(lines[1]).toMatch(/"shard":2,"downForMs":350.*answers again/)
  })
})
