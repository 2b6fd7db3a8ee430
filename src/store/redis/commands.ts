import type { ClientContext, Result } from 'ioredis'
import { type Aggregate, emptyAggregate } from '../../core/amount/aggregate.js'
import { LIMB_COUNT } from '../../core/amount/amount.js'
import type { RedisClient } from './client.js'
import type { BlockDelta, Delta } from './fold.js'
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
 * TypeScript side (the Lua side reads them in lua/*.lua).
 */

export type RecordCommand = `txstatsRecord${'' | 'Sketches'}${'' | 'Dimensions'}`
export type RecordCommands<Context extends ClientContext> = {
  [name in RecordCommand]: (
    meta: string,
    args: Array<string | number>,
  ) => Result<[number, string, string, number], Context>
}

declare module 'ioredis' {
  interface RedisCommander<Context> extends RecordCommands<Context> {
    txstatsSnapshot(meta: string, args: string[]): Result<Reply, Context>
    txstatsSeries(meta: string, args: string[]): Result<Reply, Context>
    txstatsClear(meta: string): Result<number, Context>
    txstatsValue(meta: string, args: string[]): Result<Reply, Context>
    txstatsBreakdown(meta: string, args: string[]): Result<Reply, Context>
  }
}

/** A script's answer: the instant, then aggregates of eight values each (see scripts.ts). */
export type Reply = Array<number | string>

/** An aggregate as the scripts return it: count, the limb sums, min text, max text. */
export const AGGREGATE_WIDTH = LIMB_COUNT + 3
export const MIN_AT = LIMB_COUNT + 1
export const MAX_AT = LIMB_COUNT + 2
/**
 * Appends a delta's arguments: timestamp, count, limbs, min and max texts ('' when invalid), the
 * number of its quantile indices and its (index, count) pairs.
 */
export function pushDelta(args: Array<string | number>, delta: Delta): void {
  args.push(delta.timestamp, delta.count)
  for (let i = 0; i < LIMB_COUNT; i++) args.push(delta.limbs[i] as number)
  if (delta.valid) args.push(String(delta.min), String(delta.max))
  else args.push('', '')
  args.push(delta.indices.size)
  for (const [index, count] of delta.indices) args.push(index, count)
  for (const groups of delta.values) {
    args.push(groups.size)
    for (const group of groups.values()) {
      args.push(group.value, group.first, group.count)
      for (let i = 0; i < LIMB_COUNT; i++) args.push(group.limbs[i] as number)
      args.push(String(group.min), String(group.max))
    }
  }
}

export function pushBlock(args: Array<string | number>, block: BlockDelta): void {
  args.push(block.block, block.first, block.last, block.count)
  for (let i = 0; i < LIMB_COUNT; i++) args.push(block.limbs[i] as number)
  args.push(String(block.min), String(block.max))
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
export function recordCommand({ sketches, dimensions }: ScriptFeatures): RecordCommand {
  return `txstatsRecord${sketches ? 'Sketches' : ''}${dimensions ? 'Dimensions' : ''}`
}

export function defineScripts(client: RedisClient, features: ScriptFeatures): void {
  client.defineCommand(recordCommand(features), { numberOfKeys: 1, lua: recordScript(features) })
  client.defineCommand('txstatsSnapshot', { numberOfKeys: 1, lua: SNAPSHOT })
  client.defineCommand('txstatsSeries', { numberOfKeys: 1, lua: SERIES })
  client.defineCommand('txstatsClear', { numberOfKeys: 1, lua: CLEAR })
  client.defineCommand('txstatsValue', { numberOfKeys: 1, lua: VALUE })
  client.defineCommand('txstatsBreakdown', { numberOfKeys: 1, lua: BREAKDOWN })
}
