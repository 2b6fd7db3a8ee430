import { LEVELS, ringSlots } from '../../core/blocks/levels.js'
import {
  BlockSketches,
  SKETCH_BYTES,
  SKETCH_ENTRY_BYTES,
} from '../../core/quantiles/block-sketches.js'
import type { QuantileMapping } from '../../core/quantiles/quantile-mapping.js'
import type { Delta } from './fold.js'
import {
  isSketchTable,
  SKETCH_GROUPS,
  SKETCH_KEPT_FIELDS,
  SKETCH_SUM_FROM,
  SKETCH_SUM_HASH,
  sketchField,
  sketchGroupMs,
  sketchHash,
  TABLE_FIELD,
  TABLE_VALUE,
} from './layout.js'
import { EDGE_MS, type HashWrite } from './partition.js'

/** What a call writes of the sketches, and what its commit adds (see PartitionSketches). */
export interface StagedSketches {
  deltas: readonly Delta[]
  hashes: HashWrite[]
  /** Hashes of groups freed early, to delete. */
  deletes: string[]
  /** The pointers below which a finer level's sketches were freed ('' for none), as sent. */
  kept: string[]
  /** Whether the pointers differ from those Redis holds: the call then writes them. */
  writeKept: boolean
  /** Per finer level, the group below which every group's hash was deleted or let expire. */
  deletedBelow: number[]
  /**
   * The first second the sum of the whole seconds holds (see SKETCH_SUM_HASH), as sent: the
   * script adds a delta it judges to the sum only from there.
   */
  sumFrom: number
  /** The sketch hashes the call makes, by name: Redis's once it is acknowledged. */
  created: Map<string, Written>
  /** The last second the sum's expiry is set from, when the call sets it. */
  sumUntil: number | undefined
}

/** The coarsest level's block: the sum of the whole seconds is of these. */
const SECOND = LEVELS[LEVELS.length - 1] as number

/** More than any mapping index (the finest accuracy's are fewer): a field's key is digit × INDICES + index. */
const INDICES = 2 ** 20

/** The last millisecond of a level's group of blocks. */
function groupEnd(level: number, group: number): number {
  return (group + 1) * sketchGroupMs(level) - 1
}

/** A sketch hash the partition wrote: its level, its group of blocks, when its last block ends. */
interface Written {
  level: number
  group: number
  endMs: number
}

/**
 * One writer's quantile sketches of a shard's window, beside its blocks (partition.ts): the
 * core's BlockSketches, kept in Node under the budget and by the core's rules, and in Redis as
 * the writer sends them. A call sends, per sketch hash it changes, the new counts of the indices
 * it changed (layout.ts, sketchHash): Redis writes them as sent, and does no arithmetic per
 * transaction. What Redis holds of a block at or after the partition's pointers (`kept`) is then
 * exactly the block's sketch; a block the core freed early (under the budget) is skipped from
 * then on, and the same call that skips it writes the pointers past it, so a reader cuts its edge
 * there (see readSketches in sketches.lua). Groups freed early whole leave Redis with a DEL.
 *
 * Beside them, the sum of the whole seconds held (the core's BlockSketches.seconds), from a
 * first second it names: a call writes the sum's counts it changed, and writes the sum whole
 * (once a second or so) when seconds left it, so that a read of a long interval takes the sum
 * and the few seconds outside rather than every second.
 */
export class PartitionSketches {
  readonly #mapping: QuantileMapping
  readonly #slots: number[]
  readonly #budget: number
  readonly #windowMs: number
  readonly #skewMs: number
  #sketches: BlockSketches
  /** The sketch hashes written whose blocks may still be in the window, by name. */
  readonly #written = new Map<string, Written>()
  /** The pointers Redis holds, as last acknowledged. */
  #keptSent: string[] = SKETCH_KEPT_FIELDS.map(() => '')
  /** Per finer level, the group below which no hash of the level is left to delete. */
  #deletedBelow: number[] = SKETCH_KEPT_FIELDS.map(() => Number.NEGATIVE_INFINITY)
  #sweptAt = Number.NEGATIVE_INFINITY
  /** The instant the blocks that left the window were last let go at. */
  #forgottenAt = Number.NEGATIVE_INFINITY
  /** The first second of the sum Redis holds, as last acknowledged; NaN when it must be written whole. */
  #sumFrom = Number.NaN
  /** The last second whose end the sum's expiry was set from. */
  #sumUntil = Number.NEGATIVE_INFINITY

  constructor(mapping: QuantileMapping, budget: number, windowMs: number, skewMs: number) {
    this.#mapping = mapping
    this.#budget = budget
    this.#windowMs = windowMs
    this.#skewMs = skewMs
    this.#slots = ringSlots(windowMs, skewMs)
    this.#sketches = new BlockSketches(mapping, this.#slots, budget)
  }

  /** The sketches this writer holds: what Redis holds of its blocks at or after its pointers. */
  get held(): BlockSketches {
    return this.#sketches
  }

  /**
   * Per finer level, the first block whose sketch is kept when blocks still in the window were
   * freed early ('' when none were: the window alone frees the others), as a call sends it.
   */
  kept(): string[] {
    const oldest = this.#forgottenAt - this.#windowMs + 1
    return SKETCH_KEPT_FIELDS.map((_, level) => {
      const kept = this.#sketches.kept(level)
      return kept > Math.floor(oldest / (LEVELS[level] as number)) ? String(kept) : ''
    })
  }

  /**
   * The hashes the stored deltas change, their new counts, and the groups freed early to delete.
   * What they add, and what the deltas left to the script (`edges`) may add, is charged first:
   * blocks are freed by the budget's rule to make room before the call, so that Redis never
   * holds more than the budget of sketches a read may use.
   */
  stage(stored: readonly Delta[], edges: readonly Delta[], now: number): StagedSketches {
    let added = this.#added(stored, edges)
    if (this.#sketches.bytes + added.bytes > this.#budget) {
      this.#sketches.makeRoom(added.bytes, now + this.#skewMs)
      added = this.#added(stored, edges)
    }
    const hashes: HashWrite[] = []
    const created = new Map<string, Written>()
    let newest = Number.NEGATIVE_INFINITY
    for (const { level, group, fields } of added.hashes.values()) {
      const hash = sketchHash(level, group)
      const isNew = !this.#written.has(hash)
      const flat: string[] = isNew && isSketchTable(level) ? [TABLE_FIELD, TABLE_VALUE] : []
      for (const [field, count] of fields) {
        flat.push(sketchField(Math.floor(field / INDICES), field % INDICES), String(count))
      }
      if (level === LEVELS.length - 1) newest = Math.max(newest, group)
      let newUntil = ''
      if (isNew) {
        const endMs = groupEnd(level, group)
        created.set(hash, { level, group, endMs })
        // A second outlives its own window by the window and the skew: as long as a sum that
        // holds it may be read, a read may take it out of the sum.
        newUntil = String(
          level === LEVELS.length - 1 ? endMs + this.#windowMs + this.#skewMs : endMs,
        )
      }
      hashes.push({ hash, newUntil, fields: flat })
    }
    const sum = this.#sumWrite(added.seconds, newest, now)
    if (sum.hash !== undefined) hashes.push(sum.hash)
    const kept = this.kept()
    const writeKept = kept.some((value, level) => value !== this.#keptSent[level])
    const deletedBelow = [...this.#deletedBelow]
    const deletes = this.#freedEarly(now, deletedBelow)
    if (sum.whole) deletes.push(SKETCH_SUM_HASH)
    return {
      deltas: stored,
      hashes,
      deletes,
      kept,
      writeKept,
      deletedBelow,
      sumFrom: sum.from,
      created,
      sumUntil: sum.until,
    }
  }

  /**
   * The write of the sum of the whole seconds: whole (the hash deleted first) when seconds left
   * it or the script added to seconds before it, else the counts the call changes. `seconds` what
   * the call adds per index; `newest` the last second it adds to.
   */
  #sumWrite(seconds: Map<number, number>, newest: number, now: number) {
    const sum = this.#sketches.seconds
    const whole = Number.isNaN(this.#sumFrom)
    const kept = this.#sketches.kept(LEVELS.length - 1)
    // Nothing held yet: every second a stored delta may be of, at the instant of the call.
    const from = Number.isFinite(kept)
      ? kept
      : Math.floor((now - this.#windowMs + 1 - EDGE_MS) / SECOND)
    if (!whole && seconds.size === 0) return { hash: undefined, whole, from, until: undefined }
    const fields: string[] = []
    if (whole) {
      fields.push(TABLE_FIELD, TABLE_VALUE, SKETCH_SUM_FROM, String(from))
      sum.forEach((index, count) => {
        if (!seconds.has(index)) fields.push(String(index), String(count))
      })
    }
    for (const [index, count] of seconds) fields.push(String(index), String(sum.get(index) + count))
    const until =
      whole || newest > this.#sumUntil ? Math.max(newest, this.#sumUntil, from) : undefined
    const newUntil = until === undefined ? '' : String(until * SECOND + SECOND - 1)
    return { hash: { hash: SKETCH_SUM_HASH, newUntil, fields }, whole, from, until }
  }

  /** The write of `staged` was acknowledged at `now`: its counts, and its hashes, are Redis's. */
  commit(staged: StagedSketches, now: number): void {
    for (const [hash, written] of staged.created) this.#written.set(hash, written)
    for (const hash of staged.deletes) this.#written.delete(hash)
    this.#keptSent = staged.kept
    this.#deletedBelow = staged.deletedBelow
    this.#sumFrom = staged.sumFrom
    if (staged.sumUntil !== undefined) this.#sumUntil = staged.sumUntil
    this.#record(staged.deltas, now)
    if (now - this.#sweptAt >= 1_000) {
      this.#sweptAt = now
      for (const [hash, { endMs }] of this.#written) {
        if (endMs <= now - this.#windowMs) this.#written.delete(hash)
      }
    }
  }

  /** Deltas the script judged and stored at `now`, adding them to Redis's sketches itself. */
  absorb(deltas: readonly Delta[], now: number): void {
    this.#record(deltas, now)
    for (const delta of deltas) {
      // Added by the script to its second, not to the sum: the sum is then written whole.
      if (Math.floor(delta.timestamp / SECOND) < this.#sumFrom) this.#sumFrom = Number.NaN
      for (let level = 0; level < LEVELS.length; level++) {
        const group = Math.floor(delta.timestamp / sketchGroupMs(level))
        const hash = sketchHash(level, group)
        if (!this.#written.has(hash)) {
          this.#written.set(hash, { level, group, endMs: groupEnd(level, group) })
        }
      }
    }
  }

  /** Adds deltas stored at `now` to the sketches, once the blocks that left are let go. */
  #record(deltas: readonly Delta[], now: number): void {
    const sketches = this.#sketches
    sketches.forgetBefore(now - this.#windowMs + 1)
    // Seconds left the sum: the next call writes it whole.
    if (sketches.kept(LEVELS.length - 1) !== this.#sumFrom) this.#sumFrom = Number.NaN
    this.#forgottenAt = Math.max(this.#forgottenAt, now)
    for (const delta of deltas) {
      for (const [index, count] of delta.indices) {
        sketches.record(delta.timestamp, index, now + this.#skewMs, count)
      }
    }
  }

  /** Starts afresh, nothing written. */
  clear(): void {
    this.#sketches = new BlockSketches(this.#mapping, this.#slots, this.#budget)
    this.#forgottenAt = Number.NEGATIVE_INFINITY
    this.#sumFrom = Number.NaN
    this.#sumUntil = Number.NEGATIVE_INFINITY
    this.#written.clear()
    this.#keptSent = SKETCH_KEPT_FIELDS.map(() => '')
    this.#deletedBelow = SKETCH_KEPT_FIELDS.map(() => Number.NEGATIVE_INFINITY)
  }

  /**
   * Per sketch hash (keyed by its group and level), the counts the stored deltas make of the
   * indices they change (keyed by digit and index, see INDICES), in the blocks still kept; and
   * the most the charge grows by when the deltas left to the script are stored too; and what
   * they add to the whole seconds, per index.
   */
  #added(stored: readonly Delta[], edges: readonly Delta[]) {
    const sketches = this.#sketches
    const levels = LEVELS.length
    const hashes = new Map<number, { level: number; group: number; fields: Map<number, number> }>()
    const seconds = new Map<number, number>()
    let bytes = 0
    // The blocks charged as new, and per block the indices charged as new, keyed by block and level.
    const blocks = new Set<number>()
    const entries = new Map<number, Set<number>>()
    const charge = (level: number, block: number, index: number) => {
      const key = block * levels + level
      if (!blocks.has(key) && !sketches.holds(level, block)) {
        blocks.add(key)
        bytes += SKETCH_BYTES
      }
      let indices = entries.get(key)
      if (indices === undefined) {
        indices = new Set()
        entries.set(key, indices)
      }
      if (!indices.has(index) && sketches.countOf(level, block, index) === 0) {
        indices.add(index)
        bytes += SKETCH_ENTRY_BYTES
      }
    }
    for (const delta of edges) {
      for (let level = 0; level < levels; level++) {
        const block = Math.floor(delta.timestamp / (LEVELS[level] as number))
        if (block < sketches.kept(level)) continue
        for (const index of delta.indices.keys()) charge(level, block, index)
      }
    }
    for (const delta of stored) {
      for (let level = 0; level < levels; level++) {
        const block = Math.floor(delta.timestamp / (LEVELS[level] as number))
        if (block < sketches.kept(level)) continue
        const size = SKETCH_GROUPS[level] as number
        const group = Math.floor(block / size)
        const key = group * levels + level
        let write = hashes.get(key)
        if (write === undefined) {
          write = { level, group, fields: new Map() }
          hashes.set(key, write)
        }
        const digit = (block - group * size) * INDICES
        if (level === levels - 1) {
          for (const [index, count] of delta.indices) {
            seconds.set(index, (seconds.get(index) ?? 0) + count)
          }
        }
        for (const [index, count] of delta.indices) {
          const before = write.fields.get(digit + index)
          if (before === undefined) {
            charge(level, block, index)
            write.fields.set(digit + index, sketches.countOf(level, block, index) + count)
          } else {
            write.fields.set(digit + index, before + count)
          }
        }
      }
    }
    return { hashes, seconds, bytes }
  }

  /**
   * The hashes written whose every block was freed early, while still in the window: those of
   * the groups the pointers passed since the last call (`deletedBelow` moved past them). Those
   * that left the window are let expire.
   */
  #freedEarly(now: number, deletedBelow: number[]): string[] {
    const freed: string[] = []
    for (let level = 0; level < deletedBelow.length; level++) {
      const size = SKETCH_GROUPS[level] as number
      const below = Math.floor(this.#sketches.kept(level) / size)
      if (!Number.isFinite(below)) continue
      const groups = Math.ceil((this.#slots[level] as number) / size)
      for (
        let group = Math.max(deletedBelow[level] as number, below - groups);
        group < below;
        group++
      ) {
        const hash = sketchHash(level, group)
        const written = this.#written.get(hash)
        if (written !== undefined && written.endMs > now - this.#windowMs) freed.push(hash)
      }
      deletedBelow[level] = Math.max(deletedBelow[level] as number, below)
    }
    return freed
  }
}
