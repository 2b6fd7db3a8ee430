import type { Idempotency } from '../../core/idempotency/idempotency.js'
import type { QuantileMapping } from '../../core/quantiles/quantile-mapping.js'
import type { Transaction } from '../store.js'
import { batchWrites } from './batch-writes.js'
import { pushRecordGroup, type RecordCommand, recordHeader } from './commands.js'
import { ReplicasBehindError } from './errors.js'
import { type Folded, fold, unfold } from './fold.js'
import type { ShardSet } from './shard-set.js'
import { metaKey } from './shards.js'

/**
 * Transactions per coalesced script call, at most: such a call holds Redis no longer than a bulk
 * request of 1 000 does (a bulk request larger than this still goes in one call of its own).
 */
const WRITE_BATCH_MAX = 1_000

/** The transactions of one request, with its idempotency key if it has one. */
export interface WriteGroup {
  transactions: readonly Transaction[]
  once: Idempotency | undefined
}

/** What the script did with a group: its outcomes' letters, its state, and a wait (see recordScript). */
export interface GroupReply {
  letters: string
  state: string
  waitMs: number
}

/** What the record script gets besides the transactions: the store's settings, as it takes them. */
export interface RecordSettings {
  clockSkewMs: string
  retentionMs: string
  budgetBytes: string
  clientShareBytes: string
  /** '' when quantiles are off: the script then keeps no sketch. */
  sketchBudget: string
  mapping: QuantileMapping | undefined
  dimensions: readonly string[]
  maxValues: string
  /** The record command defined for the store's features (see recordCommand). */
  command: RecordCommand
}

/**
 * The write path: per shard, the writes of one turn of the event loop (or of flushMs) share one
 * script call (batchWrites), folded per millisecond first.
 */
export class RedisWrites {
  readonly #shards: ShardSet
  readonly #settings: RecordSettings
  readonly #writers: Array<(groups: readonly WriteGroup[]) => Promise<GroupReply[]>>

  constructor(shards: ShardSet, settings: RecordSettings, flushMs: number) {
    this.#shards = shards
    this.#settings = settings
    this.#writers = shards.roots.map((_, shard) =>
      batchWrites(
        (groups: WriteGroup[]) => this.#writeNow(shard, groups),
        WRITE_BATCH_MAX,
        (group) => group.transactions.length,
        flushMs,
      ),
    )
  }

  /** Writes one request's transactions on a shard; what the script did with them. */
  write(
    shard: number,
    transactions: readonly Transaction[],
    once: Idempotency | undefined,
  ): Promise<GroupReply> {
    const writer = this.#writers[shard] as (groups: readonly WriteGroup[]) => Promise<GroupReply[]>
    return writer([{ transactions, once }]).then((replies) => replies[0] as GroupReply)
  }

  /**
   * One script call for the groups of a turn, on a shard. The transactions are folded per
   * millisecond first (fold.ts): those without a key all together, each keyed request on its own
   * (its record depends on its key), so Redis does its work once per millisecond touched, not
   * once per transaction.
   */
  #writeNow(shard: number, groups: readonly WriteGroup[]): Promise<GroupReply[]> {
    const shards = this.#shards
    const root = shards.roots[shard] as string
    const settings = this.#settings
    const args = recordHeader({
      root,
      at: shards.at(),
      windowMs: shards.windowMs,
      floor: shards.seen,
      clockSkewMs: settings.clockSkewMs,
      ttlFloorMs: shards.ttlFloor(),
      retentionMs: settings.retentionMs,
      budgetBytes: settings.budgetBytes,
      sketchBudget: settings.sketchBudget,
      dimensions: settings.dimensions.length,
      maxValues: settings.maxValues,
      clientShareBytes: settings.clientShareBytes,
    })
    // What goes to the script: the groups without a key folded together, then each keyed one.
    const unkeyed = groups.filter(({ once }) => once === undefined)
    const sent: Array<{
      once: Idempotency | undefined
      owners: readonly WriteGroup[]
      folded: Folded
    }> = groups
      .filter(({ once }) => once !== undefined)
      .map((group) => ({
        once: group.once,
        owners: [group],
        folded: fold(group.transactions, settings.mapping, settings.dimensions),
      }))
    if (unkeyed.length > 0) {
      const all =
        unkeyed.length === 1
          ? (unkeyed[0] as WriteGroup).transactions
          : unkeyed.flatMap((g) => g.transactions)
      sent.unshift({
        once: undefined,
        owners: unkeyed,
        folded: fold(all, settings.mapping, settings.dimensions),
      })
    }
    for (const { once, folded } of sent) pushRecordGroup(args, once, folded)
    const failed = shards.failure(shard)
    return this.#recordCall(root, args).then(([now, letters, states, waitMs]) => {
      shards.health.answered(shard)
      shards.seen = String(now)
      // Letters come one per delta, group after group: back to one per transaction.
      const replies = new Map<WriteGroup, GroupReply>()
      let at = 0
      sent.forEach(({ folded, owners }, i) => {
        const count = folded.deltas.length
        const ofTransactions = unfold(letters.slice(at, at + count), folded)
        at += count
        const state = states[i] ?? 'n'
        let from = 0
        for (const owner of owners) {
          const n = owner.transactions.length
          replies.set(owner, { letters: ofTransactions.slice(from, from + n), state, waitMs })
          from += n
        }
      })
      return groups.map((group) => replies.get(group) as GroupReply)
    }, failed)
  }

  /**
   * The record script, and with REDIS_WAIT_REPLICAS, WAIT after it on the same connection (a
   * pipeline goes to the node of its keys): answered only once that many replicas have the write.
   */
  async #recordCall(
    root: string,
    args: Array<string | number>,
  ): Promise<[number, string, string, number]> {
    const shards = this.#shards
    const command = this.#settings.command
    if (shards.waitReplicas === 0) return shards.client[command](metaKey(root), args)
    const results = await shards.client
      .pipeline()
      [command](metaKey(root), args)
      .wait(shards.waitReplicas, shards.waitMs)
      .exec()
    const [recorded, waited] = results ?? []
    if (recorded?.[0]) throw recorded[0]
    if (waited?.[0]) throw waited[0]
    if ((waited?.[1] as number) < shards.waitReplicas) {
      throw new ReplicasBehindError(shards.waitReplicas, waited?.[1] as number)
    }
    return recorded?.[1] as [number, string, string, number]
  }
}
