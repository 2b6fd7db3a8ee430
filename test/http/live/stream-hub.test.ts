import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { type Sink, StreamHub } from '../../../src/http/live/stream-hub.js'

const STATISTICS = { sum: 0.3, avg: 0.15, max: 0.2, min: 0.1, count: 2 }

/** A sink that keeps what it is sent, with a settable backlog. */
class FakeSink implements Sink {
  frames: string[] = []
  ended = false
  writableLength = 0
  write(frame: string): boolean {
    this.frames.push(frame)
    return true
  }
  end(): void {
    this.ended = true
  }
  events(): string[] {
    return this.frames.filter((f) => f.startsWith('id: '))
  }
}

let reads = 0
function hub(options: Partial<ConstructorParameters<typeof StreamHub>[0]> = {}) {
  return new StreamHub({
    read: () => {
      reads++
      return STATISTICS
    },
    maxSubscribers: 100,
    maxPerAddress: 100,
    maxLifetimeMs: 3_600_000,
    clock: () => 1_700_000_000_123,
    ...options,
  })
}

beforeEach(() => {
  reads = 0
  vi.useFakeTimers()
})
afterEach(() => vi.useRealTimers())

describe('StreamHub', () => {
  it('frames each event as SSE: retry first, then id, event and data with the instant', () => {
    const sink = new FakeSink()
    hub().subscribe(1000, sink)
    expect(sink.frames).toEqual([
      'retry: 2000\n\n',
      'id: 1700000000123\nevent: statistics\ndata: {"sum":0.3,"avg":0.15,"max":0.2,"min":0.1,"count":2,"at":1700000000123}\n\n',
    ])
  })

  it('reads the statistics once per tick for all subscribers of an interval', () => {
    const h = hub()
    const sinks = Array.from({ length: 50 }, () => new FakeSink())
    for (const sink of sinks) h.subscribe(500, sink)
    reads = 0
    vi.advanceTimersByTime(2_000)
    expect(reads).toBe(4)
    for (const sink of sinks) expect(sink.events()).toHaveLength(1 + 4)
  })

  it('keeps one timer per interval and stops it with its last subscriber', () => {
    const h = hub()
    const stopFast = h.subscribe(100, new FakeSink())
    const slow = new FakeSink()
    h.subscribe(1_000, slow)
    reads = 0
    vi.advanceTimersByTime(1_000)
    expect(reads).toBe(10 + 1)
    stopFast?.()
    reads = 0
    vi.advanceTimersByTime(1_000)
    expect(reads).toBe(1)
    expect(h.size).toBe(1)
  })

  it('drops frames for a subscriber that does not keep up, then closes it', () => {
    const sink = new FakeSink()
    hub({ maxBufferedBytes: 1_000, maxDroppedFrames: 5 }).subscribe(100, sink)
    sink.writableLength = 5_000
    vi.advanceTimersByTime(400)
    expect(sink.events()).toHaveLength(1) // only the first, sent before the backlog
    expect(sink.ended).toBe(false)
    vi.advanceTimersByTime(100)
    expect(sink.ended).toBe(true)
  })

  it('resumes a subscriber that catches up', () => {
    const sink = new FakeSink()
    hub({ maxBufferedBytes: 1_000, maxDroppedFrames: 5 }).subscribe(100, sink)
    sink.writableLength = 5_000
    vi.advanceTimersByTime(300)
    sink.writableLength = 0
    vi.advanceTimersByTime(1_000)
    expect(sink.ended).toBe(false)
    expect(sink.events()).toHaveLength(1 + 10)
  })

  it('sends heartbeats', () => {
    const sink = new FakeSink()
    hub({ heartbeatMs: 15_000 }).subscribe(60_000, sink)
    vi.advanceTimersByTime(15_000)
    expect(sink.frames).toContain(': heartbeat\n\n')
  })

  it('refuses subscribers beyond the cap', () => {
    const h = hub({ maxSubscribers: 2 })
    expect(h.subscribe(1000, new FakeSink())).toBeDefined()
    expect(h.subscribe(1000, new FakeSink())).toBeDefined()
    expect(h.full).toBe(true)
    expect(h.subscribe(1000, new FakeSink())).toBeUndefined()
  })

  it('skips a tick whose read fails, and goes on', async () => {
    let fail = true
    const sink = new FakeSink()
    const h = hub({
      read: () => (fail ? Promise.reject(new Error('store down')) : Promise.resolve(STATISTICS)),
    })
    h.subscribe(100, sink)
    await vi.advanceTimersByTimeAsync(300)
    expect(sink.events()).toHaveLength(0)
    fail = false
    await vi.advanceTimersByTimeAsync(100)
    expect(sink.events()).toHaveLength(1)
  })

  it('ends every stream on close and ticks no more', () => {
    const h = hub()
    const sinks = [new FakeSink(), new FakeSink()]
    h.subscribe(100, sinks[0] as FakeSink)
    h.subscribe(1000, sinks[1] as FakeSink)
    h.close()
    expect(sinks.every((s) => s.ended)).toBe(true)
    expect(h.size).toBe(0)
    reads = 0
    vi.advanceTimersByTime(5_000)
    expect(reads).toBe(0)
  })

  it('caps the streams of one address, and frees its places as they close', () => {
    const h = hub({ maxPerAddress: 2 })
    const first = h.subscribe(1000, new FakeSink(), '10.0.0.1')
    expect(h.subscribe(1000, new FakeSink(), '10.0.0.1')).toBeDefined()
    expect(h.refusal('10.0.0.1')).toEqual({
      status: 429,
      detail: expect.stringMatching(/at most 2/),
    })
    expect(h.subscribe(1000, new FakeSink(), '10.0.0.1')).toBeUndefined()
    expect(h.subscribe(1000, new FakeSink(), '10.0.0.2')).toBeDefined()
    first?.()
    expect(h.refusal('10.0.0.1')).toBeUndefined()
    expect(h.size).toBe(2)
  })

  it('caps the distinct intervals and queries streamed, each a read per tick, and frees a place as one ends', () => {
    const h = hub({ maxGroups: 2 })
    const first = h.subscribe(100, new FakeSink())
    expect(h.subscribe(200, new FakeSink(), '', { quantiles: [0.5] })).toBeDefined()
    expect(h.refusal('', 300)).toEqual({ status: 503, detail: expect.stringMatching(/at most 2/) })
    expect(h.subscribe(200, new FakeSink(), '', { quantiles: [0.9] })).toBeUndefined()
    expect(h.subscribe(100, new FakeSink())).toBeDefined() // one already streamed: welcome
    reads = 0
    vi.advanceTimersByTime(200)
    expect(reads).toBe(3) // two groups: the 100 ms one twice, the 200 ms one once
    first?.()
    expect(h.refusal('', 300)).toBeDefined() // its group has another subscriber
  })

  it('caps the distinct streams one address holds, and never refuses the default stream for want of a group', () => {
    const h = hub({ maxGroups: 6, maxGroupsPerAddress: 3 })
    for (const interval of [100, 200, 300]) {
      expect(h.subscribe(interval, new FakeSink(), '10.0.0.1')).toBeDefined()
    }
    expect(h.refusal('10.0.0.1', 400)).toEqual({
      status: 429,
      detail: expect.stringMatching(/from this address \(at most 3\)/),
    })
    expect(h.subscribe(100, new FakeSink(), '10.0.0.1')).toBeDefined() // one it holds: welcome
    for (const interval of [400, 500, 600]) {
      expect(h.subscribe(interval, new FakeSink(), '10.0.0.2')).toBeDefined()
    }
    // Every group is taken; another address still gets the default stream.
    expect(h.refusal('10.0.0.3', 700)?.status).toBe(503)
    expect(h.subscribe(1_000, new FakeSink(), '10.0.0.3')).toBeDefined()
  })

  it('ends a stream once its lifetime is over, so that the client reconnects', () => {
    const h = hub({ maxLifetimeMs: 5_000, clock: () => Date.now() })
    const sink = new FakeSink()
    h.subscribe(1000, sink, '10.0.0.1')
    vi.advanceTimersByTime(4_000)
    expect(sink.ended).toBe(false)
    vi.advanceTimersByTime(2_000)
    expect(sink.ended).toBe(true)
  })
})
