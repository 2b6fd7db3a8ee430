/**
 * The window in Redis, as Lua scripts run atomically by Redis. The layout mirrors the core's
 * levels of aligned blocks (1 ms, 10 ms, 100 ms, 1 s); the window's blocks are kept in one
 * partition per writer (partition.ts), a value's seconds in hashes every writer adds to:
 *
 *   <root>meta                      latest (the window's monotonic now), gen, settings
 *   <root><gen>:parts               the partitions, by the latest instant their blocks may reach
 *   <root><gen>:part:<id>           a partition's count of writes
 *   <root><gen>:part:<id>:t:<10 ms> its own block (field o), and its ten 1 ms blocks (fields 0…9)
 *   <root><gen>:part:<id>:s:<second> its own block (field o), and its ten 100 ms blocks (0…9)
 *   <root><gen>:part:<id>:q<level>:<group>  its quantile sketches of a group of blocks of a level
 *                                    (ten, or one second): <place>:<mapping index> → count
 *                                    (see partition-sketches.ts)
 *   <root><gen>:part:<id>:qs          the sum of its whole seconds' sketches, from second lo
 *   <root><gen>:part:<id>:qk          per finer level, the first block it keeps a sketch of
 *   <root><gen>:u<d>:<second>         per tracked value of dimension d (1-based), its rollup's
 *                                     head of that second: its block, span, number of entries
 *   <root><gen>:e<d>:<second>         per value holding entries there, its deltas (at most 32)
 *   <root><gen>:v<d>:<value>:f:<second>  a value's spilled second: its finer levels' blocks
 *                                     (ROLLUP_FORMAT in layout.ts)
 *   <root><gen>:o<d>:…, <gen>:m<d>:…  d's overflow and its missing values: a partition's hashes
 *   <root><gen>:d<d>, <gen>:p<d>      d's tracked values by newest timestamp; when each may be
 *                                     partial, and under '' the newest timestamp of the overflow
 *   <root><gen>:w<d>                  per value of d, the sum of its whole seconds of a range
 *                                     (see BREAKDOWN)
 *
 * A block is one field: the count, the exact sum's base-10^9 limbs (as in src/core/amount.ts),
 * the min and the max, each a double (BLOCK_FORMAT in layout.ts).
 * Every key of a window starts with <root>, which holds one hash tag, so a window lives in one
 * cluster slot and a script may name its keys itself. Two hashes per transaction, each at most
 * 11 fields: Redis keeps them as compact listpacks.
 *
 * Exactness: Lua numbers are doubles, so no script does arithmetic on amounts. The only Lua
 * arithmetic is on counts, limbs and times, integers far below 2^53, where doubles are exact: each
 * limb but the top is carried into (-10^9, 10^9), the top one grows by at most 1 001 a
 * transaction, and a snapshot adds at most 54 + ⌈windowMs / 1000⌉ blocks per partition (354 for
 * the largest window). The min and max are the doubles that are the amounts themselves, answered
 * as 17 significant digits, which read back as the same double. Limbs are joined and rounded in
 * Node (writeSumAndMean), so both stores round identically.
 *
 * The scripts are the .lua files of ./lua/, assembled by assembleLua: each command's file and the
 * parts it includes. The shape of the window (the levels, the limbs) and every other constant they
 * share with TypeScript reach them from the core's definitions, never copied. The Lua functions
 * that walk the blocks (aggregate) and move the clock (advance) are twins of RollingWindow's
 * #aggregate and now(): a change to one is a change to the other.
 */

import { LIMB_BASE, LIMB_COUNT } from '../../core/amount/amount.js'
import { LEVELS } from '../../core/blocks/levels.js'
import { ADMISSION_EVIDENCE, MAX_COUNTED, RETIRED_SHARE } from '../../core/dimensions/admission.js'
import {
  CHARGE_SPANS,
  ENTRY_OVERHEAD_BYTES,
  OUTCOME_LETTERS as L,
} from '../../core/idempotency/idempotency.js'
import {
  BLOCK_FORMAT,
  DIGIT_FIELDS,
  MILLISECOND_FORMAT,
  OWN_FIELD,
  ROLLUP_ENTRIES,
  ROLLUP_ENTRY_BYTES,
  ROLLUP_ENTRY_FORMAT,
  ROLLUP_FORMAT,
  SECONDS_HASH,
  SKETCH_GROUPS,
  SKETCH_HASHES,
  SKETCH_KEPT_FIELDS,
  SKETCH_KEPT_HASH,
  SKETCH_SUM_FROM,
  SKETCH_SUM_HASH,
  TABLE_FIELD,
  TABLE_VALUE,
  TENS_HASH,
  WHOLE_SUM_FORMAT,
} from './layout.js'
import { assembleLua } from './lua-loader.js'
import { ANNOUNCE_MS, REFUSALS } from './partition.js'

/** Arguments per value of a delta: value, first, its transactions' aggregate packed as a block. */
const GROUP_WIDTH = 3

/**
 * Values a step of a breakdown is sent, at most, and the rollups and blocks it reads before it
 * stops (at least one value; breakdown.lua): so a step holds Redis for a few milliseconds at most,
 * whatever the values sent, and no breakdown delays other calls for long.
 */
export const BREAKDOWN_STEP_VALUES = 128
const BREAKDOWN_STEP_READS = 2_000

/** Every constant the scripts share with TypeScript, as they read it: C.<NAME>. */
const CONSTANTS = {
  LIMB_BASE,
  LIMB_COUNT,
  LEVEL_SIZES: LEVELS,
  BLOCK_FORMAT,
  ROLLUP_FORMAT,
  MILLISECOND_FORMAT,
  ROLLUP_ENTRY_FORMAT,
  ROLLUP_ENTRY_BYTES,
  ROLLUP_ENTRIES,
  WHOLE_SUM_FORMAT,
  TABLE_FIELD,
  TABLE_VALUE,
  TENS_HASH,
  SECONDS_HASH,
  OWN_FIELD,
  DIGIT_FIELDS: Object.fromEntries(DIGIT_FIELDS.map((field, digit) => [digit, field])),
  REFUSED_GENERATION: REFUSALS.generation,
  REFUSED_LOST: REFUSALS.lost,
  REFUSED_JUDGED: REFUSALS.judged,
  REFUSED_KEYS: REFUSALS.keys,
  ANNOUNCE_MS,
  SKETCH_HASHES,
  SKETCH_GROUPS,
  SKETCH_KEPT_HASH,
  SKETCH_KEPT_FIELDS,
  SKETCH_SUM_HASH,
  SKETCH_SUM_FROM,
  GROUP_WIDTH,
  OUTCOME_STORED: L.stored,
  OUTCOME_TOO_OLD: L.tooOld,
  OUTCOME_TOO_FAR_IN_FUTURE: L.tooFarInFuture,
  OUTCOME_INVALID_AMOUNT: L.invalidAmount,
  CHARGE_SPANS,
  ENTRY_OVERHEAD_BYTES,
  ADMISSION_EVIDENCE,
  RETIRED_SHARE,
  MAX_COUNTED,
  BREAKDOWN_STEP_READS,
}

const LUA = new URL('./lua/', import.meta.url)
const script = (name: string, flags: Record<string, boolean> = {}) =>
  assembleLua(LUA, name, CONSTANTS, flags)

/**
 * A part of the scripts (a `.lua` file) with the constants it reads, to which a caller appends
 * the Lua that calls it: how each part is tested alone against its TypeScript twin.
 */
export const scriptPart = (name: string): string => script(name)

/** What a store keeps besides the window that its record script must know, and so which parts it holds. */
export interface ScriptFeatures {
  /** Dimensions' values (record-dimensions.lua). */
  dimensions: boolean
}

/**
 * The record script of a store keeping these features (record.lua). A part a store does not keep
 * is left out, its functions declared and never called: a script builds all its functions at
 * every call, and those of a part left out would cost every call for nothing.
 */
export function recordScript(features: ScriptFeatures): string {
  return script('record', { ...features })
}

/** The statistics of the window or its last ms (snapshot.lua). */
export const SNAPSHOT = script('snapshot')
/** The window per second (series.lua). */
export const SERIES = script('series')
/** One value of a dimension (value.lua). */
export const VALUE = script('value')
/** A dimension's breakdown (breakdown.lua). */
export const BREAKDOWN = script('breakdown')
/** Empties the window for every instance (clear.lua). */
export const CLEAR = script('clear')
