import { type Aggregate, addAggregate, emptyAggregate } from '../../core/amount/aggregate.js'
import {
  type Breakdown,
  type BreakdownQuery,
  rankBreakdown,
} from '../../core/dimensions/breakdown.js'
import { ValueTable } from '../../core/dimensions/value-table.js'
import { AGGREGATE_WIDTH, aggregateAt, type Reply, type StepReply } from './commands.js'
import { unpackBlock } from './layout.js'
import { BREAKDOWN_STEP_VALUES } from './scripts.js'

export { BREAKDOWN_STEP_VALUES } from './scripts.js'

/** What a shard's first breakdown call returns (see breakdown.lua). */
export interface BreakdownHead {
  /** The instant every step reads at. */
  instant: number
  /** The window's key prefix, its generation in it. */
  window: string
  overflow: Aggregate
  missing: Aggregate
  /** Whether the shard's overflow may hold transactions of values it does not track. */
  overflowing: boolean
  tracked: string[]
  /** Values that lost their place to heavier ones: part of the rest while they last. */
  retired: string[]
}

export function breakdownHead(reply: Reply): BreakdownHead {
  const at = 2 + 2 * AGGREGATE_WIDTH
  const trackedCount = reply[at + 1] as number
  const names = reply.slice(at + 2) as string[]
  return {
    instant: reply[0] as number,
    window: reply[1] as string,
    overflow: aggregateAt(reply, 2),
    missing: aggregateAt(reply, 2 + AGGREGATE_WIDTH),
    overflowing: reply[at] === 1,
    tracked: names.slice(0, trackedCount),
    retired: names.slice(trackedCount),
  }
}

/**
 * Reads a shard's values in steps: `step` is sent the head's instant and window then up to
 * BREAKDOWN_STEP_VALUES values, and answers how many it read first; the next step starts after
 * them. The steps' entries, as stepEntries reads them.
 */
export async function readSteps(
  head: BreakdownHead,
  step: (args: string[]) => Promise<StepReply>,
): Promise<StepReply[]> {
  const values = [...head.tracked, ...head.retired]
  const replies: StepReply[] = []
  for (let at = 0; at < values.length; ) {
    const sent = values.slice(at, at + BREAKDOWN_STEP_VALUES)
    const reply = await step([String(head.instant), head.window, ...sent])
    at += Math.max(1, reply[0] as number)
    replies.push(reply.slice(1))
  }
  return replies
}

/** A value a step read: its aggregate there, and whether some of it may be in the overflow. */
export interface StepEntry {
  value: string
  aggregate: Aggregate
  incomplete: boolean
}

/**
 * A step's entries: per value with transactions there or that may be incomplete, its name, 1 or
 * 0, and its aggregate as one packed block (layout.ts), which no script has to format.
 */
export function stepEntries(reply: StepReply): StepEntry[] {
  const entries: StepEntry[] = []
  for (let at = 0; at < reply.length; at += 3) {
    entries.push({
      value: (reply[at] as Buffer).toString('utf8'),
      incomplete: reply[at + 1] === 1,
      aggregate: unpackBlock(reply[at + 2] as Buffer),
    })
  }
  return entries
}

/**
 * The shards' breakdown: each value's aggregates summed over the shards, a value incomplete where
 * a shard that may have overflowed it does not track it; retired values go to the rest.
 */
export function mergeBreakdown(
  query: BreakdownQuery,
  heads: readonly BreakdownHead[],
  stepReplies: readonly StepReply[][],
): Breakdown {
  const rest = emptyAggregate()
  const missing = emptyAggregate()
  const table = new ValueTable()
  const shards = heads.map((head) => ({
    tracked: new Set(head.tracked),
    retired: new Set(head.retired),
    overflowing: head.overflowing,
  }))
  heads.forEach((head, shard) => {
    addAggregate(rest, head.overflow)
    addAggregate(missing, head.missing)
    const retired = shards[shard]?.retired as Set<string>
    for (const reply of stepReplies[shard] ?? []) {
      for (const { value, aggregate, incomplete } of stepEntries(reply)) {
        if (retired.has(value)) addAggregate(rest, aggregate)
        else table.add(value, aggregate, incomplete)
      }
    }
  })
  // A value one shard tracks may have gone to another's overflow, or be retired there.
  for (const value of table.names) {
    const elsewhere = shards.some(
      (shard) => (shard.overflowing || shard.retired.has(value)) && !shard.tracked.has(value),
    )
    if (elsewhere) table.markIncomplete(value)
  }
  return rankBreakdown(query, table, rest, missing)
}
