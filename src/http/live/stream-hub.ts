import { type Awaitable, settle } from '../../awaitable.js'
import type { Breakdown, BreakdownQuery } from '../../core/dimensions/breakdown.js'
import { queryKey, type Statistics, type StatisticsQuery } from '../../core/window/statistics.js'

/** What a stream pushes: the statistics a query asks, or a dimension's breakdown. */
export type StreamQuery = StatisticsQuery | BreakdownQuery

function isBreakdown(query: StreamQuery | undefined): query is BreakdownQuery {
  return query !== undefined && 'order' in query
}

/** Where a subscriber's frames go: an HTTP response, or anything that buffers like one. */
export interface Sink {
  write(frame: string): boolean
  end(): void
  readonly writableLength: number
}

export interface StreamHubOptions {
  /** Reads the statistics; called once per tick for all subscribers of an interval and query. */
  read: (query?: StatisticsQuery) => Awaitable<Readonly<Statistics>>
  /** Reads a breakdown, likewise once per tick per group; without it, none is streamed. */
  readBreakdown?: (query: BreakdownQuery) => Awaitable<Breakdown>
  maxSubscribers: number
  /** Subscribers from one client address, at most. */
  maxPerAddress: number
  /**
   * Distinct intervals and queries streamed at once, at most: each group costs a read per tick,
   * however few subscribe to it, so a client cannot multiply reads by asking odd intervals.
   */
  maxGroups?: number
  /**
   * Distinct intervals and queries one client address may be subscribed to at once, so that a
   * few addresses cannot take every group. The default stream (1 s, the whole window) is never
   * refused for want of a group: the dashboard always has it.
   */
  maxGroupsPerAddress?: number
  /** A stream is ended this long after it started; EventSource reconnects by itself. */
  maxLifetimeMs: number
  heartbeatMs?: number
  /** A subscriber with more than this many bytes unsent gets no new frame: it is stale anyway. */
  maxBufferedBytes?: number
  /** After this many frames dropped in a row the subscriber is closed. */
  maxDroppedFrames?: number
  /** What a reconnecting browser waits before it tries again (the `retry:` field). */
  retryMs?: number
  /** The instant stamped on each event (epoch ms). */
  clock?: () => number
}

interface Subscriber {
  sink: Sink
  dropped: number
  address: string
  /** When the stream is to end (hub clock, epoch ms). */
  endsAt: number
}

/** The default stream's group: the dashboard's. */
const DEFAULT_GROUP = groupKey(1_000, undefined)

function groupKey(intervalMs: number, query: StreamQuery | undefined): string {
  if (!isBreakdown(query)) return `${intervalMs} ${queryKey(query)}`
  const { dimension, order, limit, windowMs } = query
  return `${intervalMs} breakdown ${dimension} ${order} ${limit} ${windowMs ?? ''}`
}

interface Group {
  subscribers: Set<Subscriber>
  timer: NodeJS.Timeout
}

/**
 * Server-Sent Events of the statistics. Subscribers of one interval and query share a timer and
 * a tick:
 * the statistics are read and formatted once per tick, then written to each socket, so a tick
 * costs one read however many subscribers there are. A subscriber that does not keep up has
 * frames dropped (the next one supersedes them) and is closed if it stays behind, so its buffer
 * never grows without bound.
 */
export class StreamHub {
  readonly #options: Required<Omit<StreamHubOptions, 'readBreakdown'>> &
    Pick<StreamHubOptions, 'readBreakdown'>
  /** By interval and query (see groupKey). */
  readonly #groups = new Map<string, Group>()
  readonly #heartbeat: NodeJS.Timeout
  readonly #perAddress = new Map<string, number>()
  /** Per address, the groups it subscribes to and how many of its streams each holds. */
  readonly #groupsOf = new Map<string, Map<string, number>>()
  #size = 0

  constructor(options: StreamHubOptions) {
    this.#options = {
      heartbeatMs: 15_000,
      maxGroups: 64,
      maxGroupsPerAddress: 4,
      maxBufferedBytes: 64 * 1024,
      maxDroppedFrames: 30,
      retryMs: 2_000,
      clock: Date.now,
      ...options,
    }
    this.#heartbeat = setInterval(() => this.#beat(), this.#options.heartbeatMs).unref()
  }

  get size(): number {
    return this.#size
  }

  get full(): boolean {
    return this.#size >= this.#options.maxSubscribers
  }

  /**
   * Why a new stream from `address` of that interval and query is refused now (with the status
   * to answer), or undefined when it is welcome.
   */
  refusal(
    address: string,
    intervalMs = 1_000,
    query?: StreamQuery,
  ): { status: 429 | 503; detail: string } | undefined {
    if (this.full) return { status: 503, detail: 'Too many stream subscribers; try again later.' }
    if ((this.#perAddress.get(address) ?? 0) >= this.#options.maxPerAddress) {
      const detail = `Too many streams from this address (at most ${this.#options.maxPerAddress}); close one first.`
      return { status: 429, detail }
    }
    const key = groupKey(intervalMs, query)
    const own = this.#groupsOf.get(address)
    if (
      key !== DEFAULT_GROUP &&
      !own?.has(key) &&
      (own?.size ?? 0) >= this.#options.maxGroupsPerAddress
    ) {
      const detail = `Too many different streams (intervals and queries) from this address (at most ${this.#options.maxGroupsPerAddress}); close one first.`
      return { status: 429, detail }
    }
    const groups = this.#groups
    if (groups.size >= this.#options.maxGroups && !groups.has(key) && key !== DEFAULT_GROUP) {
      const detail = `Too many different streams (intervals and queries) are open (at most ${this.#options.maxGroups}); ask for one already streamed, such as the default, or try later.`
      return { status: 503, detail }
    }
    return undefined
  }

  /** Starts a stream; returns how to stop it, or undefined when it is refused (see refusal). */
  subscribe(
    intervalMs: number,
    sink: Sink,
    address = '',
    query?: StreamQuery,
  ): (() => void) | undefined {
    if (this.refusal(address, intervalMs, query) !== undefined) return undefined
    const endsAt = this.#options.clock() + this.#options.maxLifetimeMs
    const subscriber: Subscriber = { sink, dropped: 0, address, endsAt }
    const key = groupKey(intervalMs, query)
    const group = this.#group(key, intervalMs, query)
    group.subscribers.add(subscriber)
    this.#size++
    this.#perAddress.set(address, (this.#perAddress.get(address) ?? 0) + 1)
    const own = this.#groupsOf.get(address) ?? new Map<string, number>()
    own.set(key, (own.get(key) ?? 0) + 1)
    this.#groupsOf.set(address, own)
    sink.write(`retry: ${this.#options.retryMs}\n\n`)
    // The first frame at once: a new or reconnecting client need not wait a whole interval.
    this.#read(query, (text) => this.#send(subscriber, text))
    return () => this.#remove(key, subscriber)
  }

  /** Ends every stream, for shutdown. */
  close(): void {
    clearInterval(this.#heartbeat)
    for (const [key, group] of this.#groups) {
      for (const subscriber of group.subscribers) {
        this.#remove(key, subscriber)
        subscriber.sink.end()
      }
    }
  }

  #group(key: string, intervalMs: number, query: StreamQuery | undefined): Group {
    let group = this.#groups.get(key)
    if (!group) {
      const subscribers = new Set<Subscriber>()
      const timer = setInterval(() => this.#tick(subscribers, query), intervalMs)
      group = { subscribers, timer }
      this.#groups.set(key, group)
    }
    return group
  }

  #remove(key: string, subscriber: Subscriber): void {
    const group = this.#groups.get(key)
    if (!group?.subscribers.delete(subscriber)) return
    this.#size--
    const left = (this.#perAddress.get(subscriber.address) ?? 1) - 1
    if (left === 0) this.#perAddress.delete(subscriber.address)
    else this.#perAddress.set(subscriber.address, left)
    const own = this.#groupsOf.get(subscriber.address)
    const inGroup = (own?.get(key) ?? 1) - 1
    if (inGroup > 0) own?.set(key, inGroup)
    else own?.delete(key)
    if (own?.size === 0) this.#groupsOf.delete(subscriber.address)
    if (group.subscribers.size === 0) {
      clearInterval(group.timer)
      this.#groups.delete(key)
    }
  }

  #tick(subscribers: Set<Subscriber>, query: StreamQuery | undefined): void {
    this.#read(query, (text) => {
      const now = this.#options.clock()
      for (const subscriber of subscribers) {
        // Past its lifetime: ended, and the client reconnects (to any instance, rebalancing).
        if (now >= subscriber.endsAt) subscriber.sink.end()
        else this.#send(subscriber, text)
      }
    })
  }

  #send(subscriber: Subscriber, text: string): void {
    if (subscriber.sink.writableLength > this.#options.maxBufferedBytes) {
      subscriber.dropped++
      if (subscriber.dropped >= this.#options.maxDroppedFrames) subscriber.sink.end()
      return
    }
    subscriber.dropped = 0
    subscriber.sink.write(text)
  }

  /**
   * Reads what a tick sends, as an event's text. A store that answers over the network may fail:
   * that tick is skipped (the next one supersedes it) rather than left as an unhandled rejection.
   */
  #read(query: StreamQuery | undefined, then: (text: string) => void): void {
    const readBreakdown = this.#options.readBreakdown
    const result = isBreakdown(query)
      ? settle(readBreakdown?.(query) as Awaitable<Breakdown>, (b) =>
          then(this.#frame('breakdown', b)),
        )
      : settle(this.#options.read(query), (s) => then(this.#frame('statistics', s)))
    if (result instanceof Promise) result.catch(() => {})
  }

  /** One SSE event: what was read and the instant it was read at, which is also its id. */
  #frame(event: string, read: Readonly<Statistics> | Breakdown): string {
    const at = this.#options.clock()
    const data = JSON.stringify({ ...read, at })
    return `id: ${at}\nevent: ${event}\ndata: ${data}\n\n`
  }

  #beat(): void {
    for (const group of this.#groups.values()) {
      for (const subscriber of group.subscribers) {
        if (subscriber.sink.writableLength <= this.#options.maxBufferedBytes) {
          subscriber.sink.write(': heartbeat\n\n')
        }
      }
    }
  }
}
