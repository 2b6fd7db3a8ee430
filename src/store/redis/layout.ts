import { type Aggregate, emptyAggregate } from '../../core/amount/aggregate.js'
import { LIMB_COUNT } from '../../core/amount/amount.js'
import { LEVELS } from '../../core/blocks/levels.js'
import { MAX_PAIRS } from '../../core/dimensions/value-rows.js'

/**
 * Where a block lives in Redis: the key layout mirrors the core's levels of aligned blocks, paired
 * into hashes (a hash of a 10 ms block holds its ten 1 ms blocks, one of a second its ten 100 ms
 * blocks), and a block is one field, packed. The scripts get every name here as C.<NAME>
 * (scripts.ts); prelude.lua's place, parseBlock and formatBlock are the twins of blockPlace and
 * packBlock.
 */

// The pairing needs four levels, each ten times the last.
if (
  LEVELS.length !== 4 ||
  LEVELS.some((size, i) => i > 0 && size !== (LEVELS[i - 1] as number) * 10)
) {
  throw new Error('the Redis key layout needs four block levels, each ten times the one before')
}

/** The kind of a hash of a 10 ms block, and of a second's, as its name under a window has it. */
export const TENS_HASH = 't:'
export const SECONDS_HASH = 's:'
/** The field of a hash holding its own block. */
export const OWN_FIELD = 'o'
/** The fields holding the blocks of the level below, by their digit. */
export const DIGIT_FIELDS: readonly string[] = Array.from({ length: 10 }, (_, digit) => `${digit}`)
/**
 * A block packed as one field: its count, its limbs, its min and its max, each a little-endian
 * double, the format Lua's struct library reads (prelude.lua). Every one of them is exact as a
 * double: counts and limbs are integers far below 2^53, and the min and max are amounts, which
 * are doubles; a script reads a block with one call instead of parsing text.
 */
export const BLOCK_FORMAT = `<${'d'.repeat(LIMB_COUNT + 3)}`
const BLOCK_BYTES = 8 * (LIMB_COUNT + 3)
/**
 * A tracked value's second, its rollup's head: the second's block, then the first and last
 * millisecond of the second that it holds, so that an edge of a span that cuts none of them takes
 * the block whole, then its number of entries. While the second holds at most ROLLUP_ENTRIES
 * deltas, each of them is an entry (a millisecond and its block, ROLLUP_ENTRY_FORMAT), kept in a
 * hash of entries beside the heads, from which an edge that cuts it is summed. Past them the
 * second is _spilled_: its deltas go to the value's hashes of blocks (as the window's blocks,
 * under the value's prefix), and it holds no entry (0), so a cut is read from at most 27 blocks.
 * So a sparse value writes two fields a second and no key, a read of whole seconds reads heads
 * only, and a cut is read from at most ROLLUP_ENTRIES entries or 27 blocks, as the memory store's
 * value rows are (MAX_PAIRS).
 */
export const ROLLUP_FORMAT = `${BLOCK_FORMAT}ddd`
/** A millisecond as an entry starts with it; the entry's block follows, packed as BLOCK_FORMAT. */
export const MILLISECOND_FORMAT = '<d'
export const ROLLUP_ENTRY_FORMAT = `${MILLISECOND_FORMAT}${BLOCK_FORMAT.slice(1)}`
export const ROLLUP_ENTRY_BYTES = BLOCK_BYTES + 8
export const ROLLUP_ENTRIES = MAX_PAIRS
/** A value's sum of whole seconds kept for breakdowns: its first and last second, then the block. */
export const WHOLE_SUM_FORMAT = `<dd${BLOCK_FORMAT.slice(1)}`

/** A block's hash (its name under a window), the field holding it, and its hash's own block. */
export interface BlockPlace {
  hash: string
  field: string
  /** The level (0-based) and number of the hash's own block. */
  ownLevel: number
  own: number
}

/** Where the block `block` of level `level` (0-based) lives. Twin of place in prelude.lua. */
export function blockPlace(level: number, block: number): BlockPlace {
  const ownLevel = level | 1
  const own = level === ownLevel ? block : Math.floor(block / 10)
  const kind = ownLevel === 1 ? TENS_HASH : SECONDS_HASH
  const field = level === ownLevel ? OWN_FIELD : (DIGIT_FIELDS[block % 10] as string)
  return { hash: `${kind}${own}`, field, ownLevel, own }
}

/** A block packed as one field (see BLOCK_FORMAT). Twin of formatBlock in prelude.lua. */
export function packBlock(block: Aggregate): Buffer {
  const packed = Buffer.allocUnsafe(BLOCK_BYTES)
  packed.writeDoubleLE(block.count, 0)
  for (let i = 0; i < LIMB_COUNT; i++) packed.writeDoubleLE(block.limbs[i] as number, 8 * (i + 1))
  packed.writeDoubleLE(block.min, 8 * (LIMB_COUNT + 1))
  packed.writeDoubleLE(block.max, 8 * (LIMB_COUNT + 2))
  return packed
}

/** The block packed at `offset` (see BLOCK_FORMAT); empty when its count is 0. Twin of packBlock. */
export function unpackBlock(packed: Buffer, offset = 0): Aggregate {
  const block = emptyAggregate()
  block.count = packed.readDoubleLE(offset)
  if (block.count === 0) return block
  for (let i = 0; i < LIMB_COUNT; i++) block.limbs[i] = packed.readDoubleLE(offset + 8 * (i + 1))
  block.min = packed.readDoubleLE(offset + 8 * (LIMB_COUNT + 1))
  block.max = packed.readDoubleLE(offset + 8 * (LIMB_COUNT + 2))
  return block
}

/**
 * The hashes of a partition's quantile sketches, per level (0-based): one holds SKETCH_GROUPS
 * sibling blocks of the level (ten of the finer levels, one second), block b in the hash numbered
 * ⌊b / group⌋, each index a field `<b mod group>:<index>` whose value is its count there. A
 * record writes each hash it changed once, the counts as the writer holds them; a level's blocks
 * are freed early oldest first, so a group leaves Redis with one DEL.
 */
export const SKETCH_HASHES: readonly string[] = LEVELS.map((_, level) => `q${level + 1}:`)
export const SKETCH_GROUPS: readonly number[] = LEVELS.map((_, level) =>
  level === LEVELS.length - 1 ? 1 : 10,
)

/**
 * A field a hash is created with, its value longer than Redis keeps in a listpack
 * (hash-max-listpack-value, 64 bytes unless set otherwise): Redis then keeps the hash as a hash
 * table from its first write and finds a field by hashing it, where in a listpack (up to
 * hash-max-listpack-entries fields, 512 by default) it would scan hundreds of fields for every
 * field a record writes. So are created the sketch hashes of groups spanning SKETCH_TABLE_MS or
 * more (all but those of ten 1 ms blocks) and the sum of whole seconds, and a value's spilled
 * second (see ROLLUP_FORMAT); the 1 ms blocks' sketch hashes, a hundred a second and each of few
 * amounts, stay compact listpacks. A sketch hash the script creates (for a delta it judged
 * itself) is created without it: only slower. Reads skip it.
 */
export const TABLE_FIELD = '#'
export const TABLE_VALUE = '#'.repeat(65)
const SKETCH_TABLE_MS = 100

/** The milliseconds a sketch hash of a level spans: its group of blocks. */
export function sketchGroupMs(level: number): number {
  return (LEVELS[level] as number) * (SKETCH_GROUPS[level] as number)
}

/** Whether a level's sketch hashes are created as hash tables (see TABLE_FIELD). */
export function isSketchTable(level: number): boolean {
  return sketchGroupMs(level) >= SKETCH_TABLE_MS
}

/**
 * The hash of a partition's sum of its whole-second sketches, mapping index → count (the core's
 * BlockSketches.seconds), and its field naming the first second the sum holds: a read of many
 * seconds takes it and the few seconds outside, rather than every second.
 */
export const SKETCH_SUM_HASH = 'qs'
export const SKETCH_SUM_FROM = 'lo'
/** The hash of a partition's pointers below which a finer level's sketches were freed early. */
export const SKETCH_KEPT_HASH = 'qk'
/** Its fields, per level but the coarsest (which is never freed early). */
export const SKETCH_KEPT_FIELDS: readonly string[] = LEVELS.slice(0, -1).map((_, l) => `k${l + 1}`)

/** The hash (its name under a partition) of the sketches of a level's group of blocks. */
export function sketchHash(level: number, group: number): string {
  return `${SKETCH_HASHES[level]}${group}`
}
/** The field of an index of the sketch of a group's block (its place in the group). */
export function sketchField(digit: number, index: number): string {
  return `${digit}:${index}`
}
