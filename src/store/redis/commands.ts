import type { ClientContext, Result } from 'ioredis'
import { type Aggregate, emptyAggregate } from '../../core/amount/aggregate.js'
import { LIMB_COUNT } from '../../core/amount/amount.js'
import { writeSumAndMean } from '../../core/amount/exact-sum.js'
import type { Idempotency } from '../../core/idempotency/idempotency.js'
import type { QuantileCounts } from '../../core/quantiles/quantile-counts.js'
import {
  EMPTY_STATISTICS,
  type SeriesPoint,
  type Statistics,
} from '../../core/window/statistics.js'
import type { RedisClient } from './client.js'
import type { Delta, Folded } from './fold.js'
import { packBlock, SKETCH_SUM_FROM, TABLE_FIELD } from './layout.js'
import type { EdgeDelta, HashWrite, Judgement, Partition } from './partition.js'
import type { StagedSketches } from './partition-sketches.js'
import {
  BREAKDOWN,
  CLEAR,
  recordScript,
  type ScriptFeatures,
  SERIES,
  SNAPSHOT,
  VALUE,
} from './scripts.js'

/**
 * The scripts as commands of the client, and the layouts of their arguments and replies on the
 * TypeScript side (the Lua side reads them in lua/*.lua): the one module that encodes what the
 * scripts take and decodes what they answer (the breakdown's own in breakdown.ts).
 */

/** The record script's arguments: text, numbers, and packed blocks (layout.ts). */
export type RecordArgs = Array<string | number | Buffer>

export type RecordCommand = `txstatsRecord${'' | 'Dimensions'}`
/**
 * The record script's answer: the instant, a letter per delta, a state per group, the ms until a
 * spent budget has room, why nothing was written ('' when the call recorded: see REFUSALS), the
 * window's generation, the writer's partition's count of writes and, when it recorded, its score.
 */
export type RecordReply = [number, string, string, number, string, number, number, number?]
export type RecordCommands<Context extends ClientContext> = {
  [name in RecordCommand]: (meta: string, args: RecordArgs) => Result<RecordReply, Context>
}

declare module 'ioredis' {
  interface RedisCommander<Context> extends RecordCommands<Context> {
    txstatsSnapshot(meta: string, args: string[]): Result<Reply, Context>
    txstatsSeries(meta: string, args: string[]): Result<Reply, Context>
    txstatsClear(meta: string): Result<number, Context>
    txstatsValue(meta: string, args: string[]): Result<Reply, Context>
    txstatsBreakdown(meta: string, args: string[]): Result<Reply, Context>
    /** A breakdown's step, whose aggregates come packed (see breakdown.ts). */
    txstatsBreakdownBuffer(meta: string, args: string[]): Result<StepReply, Context>
  }
}

/** A script's answer: the instant, then aggregates of eight values each (see scripts.ts). */
export type Reply = Array<number | string>
/** SNAPSHOT's answer with quantiles: the sketches read come last, nested (see addQuantileCounts). */
export type QuantileReply = Array<number | string | Array<string | string[]>>
/** A breakdown step's answer, read as bytes: its values' names and their blocks are. */
export type StepReply = Array<number | Buffer>

/** An aggregate as the scripts return it: count, the limb sums, min text, max text. */
export const AGGREGATE_WIDTH = LIMB_COUNT + 3
const MIN_AT = LIMB_COUNT + 1
const MAX_AT = LIMB_COUNT + 2
/**
 * Appends a delta's arguments for the dimensions: its timestamp, then per dimension its values,
 * each with where its first transaction is and its transactions' aggregate packed as a block
 * (one argument the script reads with one call, rather than one per limb).
 */
function pushDelta(args: RecordArgs, delta: Delta): void {
  args.push(delta.timestamp)
  for (const groups of delta.values) {
    args.push(groups.size)
    for (const group of groups.values()) args.push(group.value, group.first, packBlock(group))
  }
}

/**
 * What every script takes first (prelude.lua's ARGV[1…4]): the shard's key root, an injected clock
 * reading ('' for Redis's own), the window's length, and the latest instant another shard has
 * shown ('' for none).
 */
export function preludeArgs(root: string, at: string, windowMs: string, floor: string): string[] {
  return [root, at, windowMs, floor]
}

/** The snapshot's (snapshot.lua's ARGV[5…]): the query's window; with quantiles, the clock skew. */
export function snapshotArgs(queryWindow: string, quantiles?: { clockSkewMs: string }): string[] {
  return quantiles ? [queryWindow, quantiles.clockSkewMs] : [queryWindow]
}

/** A value's statistics (value.lua's ARGV[5…]): the query's window, the dimension (1-based), the value. */
export function valueArgs(queryWindow: string, dimension: number, value: string): string[] {
  return [queryWindow, String(dimension), value]
}

/** A breakdown's first call (breakdown.lua's ARGV[5…6]); its steps append their own (see breakdown.ts). */
export function breakdownArgs(queryWindow: string, dimension: number): string[] {
  return [queryWindow, String(dimension)]
}

/** The series (series.lua's ARGV[5]): the query's window. */
export function seriesArgs(queryWindow: string): string[] {
  return [queryWindow]
}

/** What the record script takes before its groups (record.lua's ARGV[1…18]), in its order. */
export interface RecordHeader {
  /** The shard's key root. */
  root: string
  /** An injected clock reading, or '' for Redis's own. */
  at: string
  windowMs: string
  /** The latest instant another shard has shown ('' for none). */
  floor: string
  clockSkewMs: string
  ttlFloorMs: number
  retentionMs: string
  budgetBytes: string
  /** Whether the store keeps quantile sketches. */
  sketches: boolean
  /** The number of dimensions. */
  dimensions: number
  maxValues: string
  clientShareBytes: string
  /** The writer's partition: its id, the writes of it acknowledged, its generation ('' for any). */
  partition: string
  seq: number
  gen: string
  /** The instants the writer judged its transactions for ('' for unbounded). */
  lo: string
  hi: string
  /** The partition's score in the set of partitions ('' for none yet: see record.lua). */
  announced: string
}

export function recordHeader(header: RecordHeader): RecordArgs {
  return [
    ...preludeArgs(header.root, header.at, header.windowMs, header.floor),
    header.clockSkewMs,
    header.ttlFloorMs,
    header.retentionMs,
    header.budgetBytes,
    header.sketches ? '1' : '',
    header.dimensions,
    header.maxValues,
    header.clientShareBytes,
    header.partition,
    header.seq,
    header.gen,
    header.lo,
    header.hi,
    header.announced,
  ]
}

/** The writer's part of the header: its partition as it knows it, and the instants it judged for. */
export function partitionHeader(
  partition: Partition,
  judgement: Judgement,
): Pick<RecordHeader, 'partition' | 'seq' | 'gen' | 'lo' | 'hi' | 'announced'> {
  return {
    partition: partition.id,
    seq: partition.seq,
    gen: partition.gen === undefined ? '' : String(partition.gen),
    lo: Number.isFinite(judgement.lo) ? String(judgement.lo) : '',
    hi: Number.isFinite(judgement.hi) ? String(judgement.hi) : '',
    announced: partition.announced === undefined ? '' : String(partition.announced),
  }
}

/** Appends the partition's hashes to write: their number, then each hash's (see record.lua). */
export function pushHashWrites(args: RecordArgs, hashes: readonly HashWrite[]): void {
  args.push(hashes.length)
  for (const { hash, newUntil, fields } of hashes) {
    args.push(hash, newUntil, fields.length / 2)
    for (const field of fields) args.push(field)
  }
}

/**
 * Appends the writer's sketches' part (with sketches only): whether their pointers are written,
 * the pointers, the first second of their sum, and the hashes to delete (see PartitionSketches).
 */
export function pushSketchWrites(args: RecordArgs, sketches: StagedSketches): void {
  args.push(
    sketches.writeKept ? '1' : '',
    ...sketches.kept,
    sketches.sumFrom,
    sketches.deletes.length,
  )
  for (const hash of sketches.deletes) args.push(hash)
}

/**
 * Appends a group of the record script: its idempotency key, fingerprint and client ('' without a
 * key), its number of transactions, its letters (one per delta), the deltas left to the script
 * to judge (their number, then each its letter's place, 1-based, its timestamp, its aggregate
 * packed as a block ('' when invalid), and its quantile indices' number and (index, count) pairs),
 * then the deltas the dimensions need (none when the store keeps none): their number, how many
 * arguments they take, and themselves (see recordFeatures).
 */
export function pushRecordGroup(
  args: RecordArgs,
  once: Idempotency | undefined,
  folded: Folded,
  letters: string,
  edges: readonly EdgeDelta[],
  dimensions: boolean,
): void {
  args.push(
    once?.key ?? '',
    once?.fingerprint ?? '',
    once?.client ?? '',
    folded.deltaOf.length,
    letters,
    edges.length,
  )
  for (const { index, delta } of edges) {
    args.push(index + 1, delta.timestamp, delta.valid ? packBlock(delta) : '', delta.indices.size)
    for (const [index, count] of delta.indices) args.push(index, count)
  }
  const deltas = dimensions ? folded.deltas : []
  args.push(deltas.length, 0) // how many arguments the deltas take: set below
  const width = args.length - 1
  for (const delta of deltas) pushDelta(args, delta)
  args[width] = args.length - width - 1
}

/** The aggregate at `offset` of a script's reply: count, limb sums, min text, max text. */
export function aggregateAt(reply: Reply, offset: number): Aggregate {
  const aggregate = emptyAggregate()
  aggregate.count = reply[offset] as number
  for (let i = 0; i < LIMB_COUNT; i++) aggregate.limbs[i] = reply[offset + 1 + i] as number
  const low = reply[offset + MIN_AT] as string
  const high = reply[offset + MAX_AT] as string
  if (low !== '') aggregate.min = Number(low)
  if (high !== '') aggregate.max = Number(high)
  return aggregate
}

/**
 * The record command of a store keeping these features: named after them, so that stores keeping
 * different ones may share a client.
 */
export function recordCommand({ dimensions }: ScriptFeatures): RecordCommand {
  return `txstatsRecord${dimensions ? 'Dimensions' : ''}`
}

export function defineScripts(client: RedisClient, features: ScriptFeatures): void {
  client.defineCommand(recordCommand(features), { numberOfKeys: 1, lua: recordScript(features) })
  client.defineCommand('txstatsSnapshot', { numberOfKeys: 1, lua: SNAPSHOT })
  client.defineCommand('txstatsSeries', { numberOfKeys: 1, lua: SERIES })
  client.defineCommand('txstatsClear', { numberOfKeys: 1, lua: CLEAR })
  client.defineCommand('txstatsValue', { numberOfKeys: 1, lua: VALUE })
  client.defineCommand('txstatsBreakdown', { numberOfKeys: 1, lua: BREAKDOWN })
}

/**
 * The exact statistics of the aggregates at `offset` in every shard's reply; `limbs` a scratch
 * of LIMB_COUNT.
 */
export function mergeStatistics(
  replies: readonly Reply[],
  offset: number,
  limbs: Float64Array,
): Statistics {
  limbs.fill(0)
  let count = 0
  let min = Number.POSITIVE_INFINITY
  let max = Number.NEGATIVE_INFINITY
  for (const reply of replies) {
    count += reply[offset] as number
    // Each shard's limb sums are integers below 2^37: their sum is exact.
    for (let i = 0; i < LIMB_COUNT; i++) {
      limbs[i] = (limbs[i] as number) + (reply[offset + 1 + i] as number)
    }
    const low = reply[offset + MIN_AT] as string
    const high = reply[offset + MAX_AT] as string
    if (low !== '') min = Math.min(min, Number(low))
    if (high !== '') max = Math.max(max, Number(high))
  }
  if (count === 0) return { ...EMPTY_STATISTICS }
  const statistics = { sum: 0, avg: 0, max, min, count }
  writeSumAndMean(limbs, count, statistics)
  return statistics
}

/** SNAPSHOT's and VALUE's replies: the instant, then the aggregate. */
export function snapshotStatistics(replies: readonly Reply[], limbs: Float64Array): Statistics {
  return mergeStatistics(replies, 1, limbs)
}

/** VALUE's replies: the value's statistics, incomplete when a shard says it may be. */
export function valueStatistics(replies: readonly Reply[], limbs: Float64Array): Statistics {
  const incomplete = replies.some((reply) => reply[1 + AGGREGATE_WIDTH] === 1)
  return { ...snapshotStatistics(replies, limbs), incomplete }
}

/**
 * SNAPSHOT's replies with quantiles: after the aggregate, the edge cut at (ms), the set's min and
 * max texts, then the sketches read: per hash, the digits of the blocks wanted there (led by '-'
 * for those taken out; '*' for a sum of whole seconds), then its fields (`<digit>:<index>`, a
 * sum's `<index>`) and counts (see readSketches in sketches.lua). Adds every shard's
 * wanted counts to `counts`; the coarsest edge and the extremes of every shard's set.
 */
export function addQuantileCounts(
  replies: readonly QuantileReply[],
  counts: QuantileCounts,
): { edgeMs: number; min: number; max: number } {
  let edgeMs = 1
  let min = Number.POSITIVE_INFINITY
  let max = Number.NEGATIVE_INFINITY
  const at = 1 + AGGREGATE_WIDTH
  for (const reply of replies) {
    edgeMs = Math.max(edgeMs, reply[at] as number)
    const low = reply[at + 1] as string
    const high = reply[at + 2] as string
    if (low !== '') min = Math.min(min, Number(low))
    if (high !== '') max = Math.max(max, Number(high))
    const sketches = reply[at + 3] as Array<string | string[]>
    for (let i = 0; i < sketches.length; i += 2) {
      const digits = sketches[i] as string
      const fields = sketches[i + 1] as string[]
      if (digits === '*') {
        // A sum of whole seconds: its fields are indices, but for the first second it holds.
        for (let f = 0; f < fields.length; f += 2) {
          const field = fields[f]
          if (field !== SKETCH_SUM_FROM && field !== TABLE_FIELD) {
            counts.add(Number(field), Number(fields[f + 1]))
          }
        }
        continue
      }
      const sign = digits.charAt(0) === '-' ? -1 : 1
      for (let f = 0; f < fields.length; f += 2) {
        const field = fields[f] as string
        if (!digits.includes(field.charAt(0))) continue
        counts.add(Number(field.slice(2)), sign * Number(fields[f + 1]))
      }
    }
  }
  return { edgeMs, min, max }
}

/** SERIES's replies: the instant, then per second its number and its aggregate. */
export function seriesPoints(replies: readonly Reply[], limbs: Float64Array): SeriesPoint[] {
  const points: SeriesPoint[] = []
  const first = replies[0] as Reply
  for (let offset = 1; offset < first.length; offset += AGGREGATE_WIDTH + 1) {
    const { count, sum, min, max } = mergeStatistics(replies, offset + 1, limbs)
    points.push({ second: first[offset] as number, count, sum, min, max })
  }
  return points
}
