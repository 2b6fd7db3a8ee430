import { randomBytes } from 'node:crypto'
import { type Aggregate, addAggregate, emptyAggregate } from '../../core/amount/aggregate.js'
import { LEVELS } from '../../core/blocks/levels.js'
import { OUTCOME_LETTERS as L } from '../../core/idempotency/idempotency.js'
import type { Delta } from './fold.js'
import { blockPlace, packBlock } from './layout.js'
import type { PartitionSketches, StagedSketches } from './partition-sketches.js'

/**
 * Why a record call wrote nothing (record.lua), as it says it: the window started a new
 * generation; the partition's writes are not those its writer counted (a call whose answer was
 * lost, a Redis that restarted empty); the window's instant is outside those the writer judged
 * its transactions for; a request with a key may not be recorded now (a replay, a key used with
 * another request, a budget spent).
 */
export const REFUSALS = { generation: 'g', lost: 'l', judged: 'j', keys: 'k' } as const

/** How far ahead of its blocks a partition's score is set, so that most calls need not move it. */
export const ANNOUNCE_MS = 1_000

/**
 * How near an edge of the window (too old, too far ahead) a delta must be, at the writer's
 * estimate of the instant, for the script to judge it at its own instant rather than the writer
 * (see Judgement): more than the estimate is ever off by, so that a call is refused for its
 * instant only when the estimate is off by more.
 */
export const EDGE_MS = 250

/** The letter of a delta left to the script to judge, until the script's answer replaces it. */
const UNJUDGED = '?'

/** A delta left to the script, and its letter's place among its group's. */
export interface EdgeDelta {
  index: number
  delta: Delta
}

/**
 * The judgement of a call's deltas at an estimated instant, and the instants [lo, hi] at which
 * it is the same: the script records only when the window's instant, which it alone reads, is
 * among them. Twin of the core's rules (RollingWindow.record) and their order: too old, too far
 * in the future, then an amount outside the domain. A delta whose judgement would turn within
 * EDGE_MS of the estimate is left to the script, which judges it at its own instant: a batch of
 * transactions spread across an edge is then recorded whatever the instant, where judging it
 * all in Node would need the estimate to the millisecond.
 */
export class Judgement {
  lo = Number.NEGATIVE_INFINITY
  hi = Number.POSITIVE_INFINITY
  readonly stored: Delta[] = []

  constructor(
    readonly now: number,
    readonly windowMs: number,
    readonly skewMs: number,
    readonly edgeMs = EDGE_MS,
  ) {}

  /** One letter per delta (OUTCOME_LETTERS); the stored ones join `stored`, those left go to `edges`. */
  judge(deltas: readonly Delta[], edges: EdgeDelta[]): string {
    const { now, windowMs, skewMs, edgeMs } = this
    let letters = ''
    deltas.forEach((delta, index) => {
      const t = delta.timestamp
      const old = t + windowMs // the first instant at which it is too old
      const ahead = t - skewMs // the first instant at which it is no longer too far ahead
      if (Math.abs(old - now) <= edgeMs || Math.abs(ahead - now) <= edgeMs) {
        letters += UNJUDGED
        edges.push({ index, delta })
      } else if (now >= old) {
        letters += L.tooOld
        this.lo = Math.max(this.lo, old)
      } else if (now < ahead) {
        letters += L.tooFarInFuture
        this.hi = Math.min(this.hi, ahead - 1)
      } else {
        this.lo = Math.max(this.lo, ahead)
        this.hi = Math.min(this.hi, old - 1)
        if (delta.valid) {
          letters += L.stored
          this.stored.push(delta)
        } else {
          letters += L.invalidAmount
        }
      }
    })
    return letters
  }
}

/** A hash of a partition to write: its name, when new the instant its own block ends, its fields. */
export interface HashWrite {
  hash: string
  /** The end of the hash's own block when the hash is new (it then gets its expiry), else ''. */
  newUntil: string
  /** (field, packed block) pairs, the hash's own block first. */
  fields: Array<string | Buffer>
}

/** Blocks staged for a write: the partition's own once the write is acknowledged. */
export interface Staged {
  blocks: Array<Map<number, Aggregate>>
  /** The hashes of the blocks, then those of the sketches. */
  hashes: HashWrite[]
  /** Undefined when the store keeps no sketches. */
  sketches: StagedSketches | undefined
}

/** The levels in the order their blocks are written: each hash's own block before its others. */
const WRITE_ORDER = LEVELS.map((_, level) => level ^ 1)

/**
 * One writer's partition of a shard's window: the blocks this process stored there, which only it
 * writes, each whole. Redis then does no arithmetic per block: the writer adds in Node, exactly
 * (the core's limbs), and sends each block it changed, packed. The partition knows how many of
 * its writes Redis acknowledged; when it cannot know what Redis holds (a call failed, the window
 * started a new generation, Redis says the count differs), it is abandoned for a new one, empty,
 * under a new id, and the old one stays readable until its blocks leave the window.
 */
export class Partition {
  id = newId()
  /** The writes Redis acknowledged. */
  seq = 0
  /** The window's generation its blocks are of; undefined before the first write. */
  gen: number | undefined
  /** Its score in the set of partitions, as last written (see record.lua); undefined before. */
  announced: number | undefined
  readonly #windowMs: number
  readonly #blocks: Array<Map<number, Aggregate>> = LEVELS.map(() => new Map())
  /** The latest instant Redis answered with, and Redis's clock less this process's then. */
  #latest = Number.NEGATIVE_INFINITY
  #offset = 0
  #sweptAt = Number.NEGATIVE_INFINITY
  /** The blocks of a call that failed after it may have run (see doubt). */
  #doubted: Staged | undefined
  #doubts = 0

  /** Its quantile sketches; undefined when the store keeps none. */
  readonly sketches: PartitionSketches | undefined

  constructor(windowMs: number, sketches?: PartitionSketches) {
    this.#windowMs = windowMs
    this.sketches = sketches
  }

  /**
   * The window's instant as the script will likely read it: the twin of advance (prelude.lua)
   * on the clock given or Redis's as last seen, the floor, and the instant last answered.
   */
  estimate(at: string, floor: string): number {
    const clock = at === '' ? Date.now() + this.#offset : Number(at)
    let now = clock
    const seen = floor === '' ? Number.NEGATIVE_INFINITY : Number(floor)
    if (seen > now && clock > seen - this.#windowMs) now = seen
    // A step back of a whole window starts a new generation at the clock.
    if (now <= this.#latest - this.#windowMs) return now
    return Math.max(now, this.#latest)
  }

  /** Notes the instant a call answered with: the shard's instant then. */
  observe(now: number, at: string): void {
    this.#latest = now
    if (at === '') this.#offset = now - Date.now()
  }

  /**
   * The blocks the stored deltas change, as they will be, and the hashes to write (the sketches'
   * too); `edges` the deltas left to the script, `now` the instant the call will likely be made at.
   */
  stage(stored: readonly Delta[], now: number, edges: readonly Delta[] = []): Staged {
    const blocks = LEVELS.map(() => new Map<number, Aggregate>())
    for (const delta of stored) {
      for (let level = 0; level < LEVELS.length; level++) {
        const number = Math.floor(delta.timestamp / (LEVELS[level] as number))
        const staged = blocks[level] as Map<number, Aggregate>
        let block = staged.get(number)
        if (block === undefined) {
          block = copyOf(this.#blocks[level]?.get(number))
          staged.set(number, block)
        }
        addAggregate(block, delta)
      }
    }
    const hashes = new Map<string, HashWrite>()
    for (const level of WRITE_ORDER) {
      for (const [number, block] of blocks[level] as Map<number, Aggregate>) {
        const place = blockPlace(level, number)
        let write = hashes.get(place.hash)
        if (write === undefined) {
          const isNew = !this.#blocks[place.ownLevel]?.has(place.own)
          const size = LEVELS[place.ownLevel] as number
          write = {
            hash: place.hash,
            newUntil: isNew ? String(place.own * size + size - 1) : '',
            fields: [],
          }
          hashes.set(place.hash, write)
        }
        write.fields.push(place.field, packBlock(block))
      }
    }
    const sketches = this.sketches?.stage(stored, edges, now)
    const writes = [...hashes.values()]
    if (sketches !== undefined) writes.push(...sketches.hashes)
    return { blocks, hashes: writes, sketches }
  }

  /** The write of `staged` was acknowledged at `now`, in generation `gen`. */
  #commit(staged: Staged, gen: number, now: number): void {
    this.seq++
    this.gen = gen
    staged.blocks.forEach((changed, level) => {
      const blocks = this.#blocks[level] as Map<number, Aggregate>
      for (const [number, block] of changed) blocks.set(number, block)
    })
    if (staged.sketches !== undefined) this.sketches?.commit(staged.sketches, now)
    // Once a second, blocks that left the window are let go: no later write can reach them.
    if (now - this.#sweptAt >= 1_000) {
      this.#sweptAt = now
      this.#blocks.forEach((blocks, level) => {
        const size = LEVELS[level] as number
        for (const number of blocks.keys()) {
          if (number * size + size - 1 <= now - this.#windowMs) blocks.delete(number)
        }
      })
    }
  }

  /**
   * A call that may have run failed: whether its blocks (`staged`) are Redis's is known only from
   * the partition's count of writes, which the next call reads (see settle). Without `staged`
   * (the call left deltas for the script to judge, whose outcomes only its answer said), a count
   * one more cannot be taken up either. Two calls in doubt expected the same count, and a count
   * one more cannot say which of them ran.
   */
  doubt(staged: Staged | undefined): void {
    this.#doubted = staged
    this.#doubts++
  }

  /**
   * What a call's answer says of the partition: recorded (`refusal` ''), its blocks are now the
   * partition's; the window started a new generation, it starts afresh; its count of writes is
   * not the one expected (`writes` the count found), a call in doubt ran when the count is one
   * more (its blocks are then the partition's), and otherwise the partition is lost (a Redis
   * that restarted, or failed over to a replica behind) and starts afresh.
   */
  settle(
    refusal: string,
    staged: Staged,
    gen: number,
    now: number,
    writes: number,
    announced?: number,
  ): void {
    const doubted = this.#doubts === 1 ? this.#doubted : undefined
    this.#doubted = undefined
    this.#doubts = 0
    if (refusal === '') {
      this.#commit(staged, gen, now)
      this.announced = announced
    } else if (refusal === REFUSALS.generation) this.abandon()
    else if (refusal === REFUSALS.lost) {
      if (doubted !== undefined && writes === this.seq + 1 && gen === this.gen) {
        this.#commit(doubted, gen, now)
      } else {
        this.abandon()
      }
    }
    // Refused for another reason, the count was the one expected: a call in doubt did not run,
    // and cannot run later (it expects the count this call found).
  }

  /** Deltas the script stored in the partition itself at `now` (see Judgement): the partition's too. */
  absorb(deltas: readonly Delta[], now: number): void {
    this.sketches?.absorb(deltas, now)
    for (const delta of deltas) {
      for (let level = 0; level < LEVELS.length; level++) {
        const number = Math.floor(delta.timestamp / (LEVELS[level] as number))
        const blocks = this.#blocks[level] as Map<number, Aggregate>
        let block = blocks.get(number)
        if (block === undefined) {
          block = emptyAggregate()
          blocks.set(number, block)
        }
        addAggregate(block, delta)
      }
    }
  }

  /** Starts afresh: a new id, nothing written, no generation. */
  abandon(): void {
    this.#doubted = undefined
    this.#doubts = 0
    this.id = newId()
    this.seq = 0
    this.gen = undefined
    this.announced = undefined
    for (const blocks of this.#blocks) blocks.clear()
    this.sketches?.clear()
  }
}

function copyOf(block: Aggregate | undefined): Aggregate {
  const copy = emptyAggregate()
  if (block !== undefined) addAggregate(copy, block)
  return copy
}

/** A partition's id: random, so that writers never share one, and short, as it is in every key. */
function newId(): string {
  return randomBytes(6).toString('base64url')
}
