import type { Aggregate } from '../../core/amount/aggregate.js'
import { LIMB_COUNT } from '../../core/amount/amount.js'
import { LEVELS } from '../../core/blocks/levels.js'

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
/** What joins a packed block's parts. */
export const BLOCK_SEPARATOR = ','
/** The Lua pattern that takes a packed block apart, and the format that packs one (prelude.lua). */
export const BLOCK_PATTERN = `^(%-?%d+)${`${BLOCK_SEPARATOR}(%-?%d+)`.repeat(LIMB_COUNT)}${BLOCK_SEPARATOR}([^${BLOCK_SEPARATOR}]*)${BLOCK_SEPARATOR}([^${BLOCK_SEPARATOR}]*)$`
export const BLOCK_FORMAT = `%d${`${BLOCK_SEPARATOR}%d`.repeat(LIMB_COUNT)}${BLOCK_SEPARATOR}%s${BLOCK_SEPARATOR}%s`

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

/**
 * A block packed as one field: its count, its limbs, its min's and its max's shortest decimal.
 * Twin of formatBlock in prelude.lua.
 */
export function packBlock(block: Aggregate): string {
  let text = String(block.count)
  for (let i = 0; i < LIMB_COUNT; i++) text += BLOCK_SEPARATOR + String(block.limbs[i])
  return `${text}${BLOCK_SEPARATOR}${block.min}${BLOCK_SEPARATOR}${block.max}`
}
