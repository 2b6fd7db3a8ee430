import { type Idempotency, OUTCOME_LETTERS } from '../../core/idempotency/idempotency.js'
import type { QuantileMapping } from '../../core/quantiles/quantile-mapping.js'
import { StoreUnavailableError, type Transaction } from '../store.js'
import { batchWrites } from './batch-writes.js'
import {
  partitionHeader,
  pushHashWrites,
  pushRecordGroup,
  pushSketchWrites,
  type RecordArgs,
  type RecordCommand,
  type RecordReply,
  recordHeader,
} from './commands.js'
import { ReplicasBehindError } from './errors.js'
import { type Folded, fold, unfold } from './fold.js'
import { type EdgeDelta, Judgement, Partition, REFUSALS } from './partition.js'
import { PartitionSketches } from './partition-sketches.js'
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
  /** Undefined when quantiles are off: no sketch is kept. */
  quantiles: { mapping: QuantileMapping; budget: number } | undefined
  dimensions: readonly string[]
  maxValues: string
  /** The record command defined for the store's features (see recordCommand). */
  command: RecordCommand
}

/**
 * Calls a write may make that record nothing because the writer judged at the wrong instant or
 * lost track of its partition, before it fails "nothing was done": each such call teaches the
 * writer the instant, or starts its partition afresh, so the next one records.
 */
const MAX_STALLS = 4

const STORED = OUTCOME_LETTERS.stored

/** What one call sends: groups without a key folded together, or one keyed request. */
interface Sent {
  once: Idempotency | undefined
  owners: readonly WriteGroup[]
  folded: Folded
}

/**
 * The write path: per shard, the writes of one turn of the event loop (or of flushMs) share one
 * script call (batchWrites), folded per millisecond first, one call in flight at a time. The
 * window's blocks go to this process's partition of the shard (partition.ts): judged and added in
 * Node, each block changed written whole.
 */
export class RedisWrites {
  readonly #shards: ShardSet
  readonly #settings: RecordSettings
  readonly #partitions: Partition[]
  readonly #writers: Array<(groups: readonly WriteGroup[]) => Promise<GroupReply[]>>
  readonly #windowMs: number
  readonly #skewMs: number

  constructor(shards: ShardSet, settings: RecordSettings, flushMs: number) {
    this.#shards = shards
    this.#settings = settings
    this.#windowMs = Number(shards.windowMs)
    this.#skewMs = Number(settings.clockSkewMs)
    const quantiles = settings.quantiles
    this.#partitions = shards.roots.map(
      () =>
        new Partition(
          this.#windowMs,
          quantiles &&
            new PartitionSketches(
              quantiles.mapping,
              quantiles.budget,
              this.#windowMs,
              this.#skewMs,
            ),
        ),
    )
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
   * The groups of a turn, on a shard, in as few calls as it takes: a call that records nothing
   * (see REFUSALS) answers the keyed requests that may not be recorded, and the others go again.
   */
  async #writeNow(shard: number, groups: readonly WriteGroup[]): Promise<GroupReply[]> {
    const replies = new Map<WriteGroup, GroupReply>()
    let pending: readonly WriteGroup[] = groups
    let stalls = 0
    while (pending.length > 0) {
      // Gathered while another call was in flight: if that call took the shard down, nothing is sent.
      if (!this.#shards.health.up(shard)) return this.#shards.unavailable()
      const left = await this.#call(shard, pending, replies)
      if (left.length === pending.length && ++stalls > MAX_STALLS) {
        throw new StoreUnavailableError(new Error('the window kept moving under the writes'), false)
      }
      pending = left
    }
    return groups.map((group) => replies.get(group) as GroupReply)
  }

  /**
   * One script call. The transactions are folded per millisecond first (fold.ts): those without a
   * key all together, each keyed request on its own (its record depends on its key; a key met
   * twice waits for the next call), judged at the instant the script will likely read, and the
   * blocks they change staged. The groups the call settles go into `replies`; those to send
   * again are returned.
   */
  async #call(
    shard: number,
    groups: readonly WriteGroup[],
    replies: Map<WriteGroup, GroupReply>,
  ): Promise<WriteGroup[]> {
    const shards = this.#shards
    const settings = this.#settings
    const partition = this.#partitions[shard] as Partition
    const root = shards.roots[shard] as string
    const at = shards.at()
    const floor = shards.seen
    const judgement = new Judgement(partition.estimate(at, floor), this.#windowMs, this.#skewMs)
    const sent: Sent[] = []
    const later: WriteGroup[] = []
    const keys = new Set<string>()
    for (const group of groups) {
      if (group.once === undefined) continue
      if (keys.has(group.once.key)) {
        later.push(group)
        continue
      }
      keys.add(group.once.key)
      sent.push({
        once: group.once,
        owners: [group],
        folded: fold(group.transactions, settings.quantiles?.mapping, settings.dimensions),
      })
    }
    const unkeyed = groups.filter(({ once }) => once === undefined)
    if (unkeyed.length > 0) {
      const all =
        unkeyed.length === 1
          ? (unkeyed[0] as WriteGroup).transactions
          : unkeyed.flatMap((g) => g.transactions)
      sent.unshift({
        once: undefined,
        owners: unkeyed,
        folded: fold(all, settings.quantiles?.mapping, settings.dimensions),
      })
    }
    const edges = sent.map((): EdgeDelta[] => [])
    const letters = sent.map(({ folded }, i) => judgement.judge(folded.deltas, edges[i] ?? []))
    const staged = partition.stage(
      judgement.stored,
      judgement.now,
      edges.flatMap((left) => left.map(({ delta }) => delta)),
    )
    const args = recordHeader({
      root,
      at,
      windowMs: shards.windowMs,
      floor,
      clockSkewMs: settings.clockSkewMs,
      ttlFloorMs: shards.ttlFloor(),
      retentionMs: settings.retentionMs,
      budgetBytes: settings.budgetBytes,
      sketches: staged.sketches !== undefined,
      dimensions: settings.dimensions.length,
      maxValues: settings.maxValues,
      clientShareBytes: settings.clientShareBytes,
      ...partitionHeader(partition, judgement),
    })
    pushHashWrites(args, staged.hashes)
    if (staged.sketches !== undefined) pushSketchWrites(args, staged.sketches)
    const dimensions = settings.dimensions.length > 0
    sent.forEach(({ once, folded }, i) => {
      pushRecordGroup(args, once, folded, letters[i] as string, edges[i] ?? [], dimensions)
    })
    const connected = shards.connected()
    let reply: RecordReply
    try {
      reply = await this.#recordCall(root, args)
    } catch (error) {
      const failure = shards.writeFailure(shard, error, connected)
      // A call that may have run leaves the partition in doubt until the next call reads its
      // count of writes (see settle); one refused before running leaves it as it was.
      if (failure.sent)
        partition.doubt(edges.every((left) => left.length === 0) ? staged : undefined)
      throw failure
    }
    const [now, answered, states, waitMs, refusal, gen, writes, announced] = reply
    shards.health.answered(shard)
    shards.seen = String(now)
    partition.observe(now, at)
    partition.settle(refusal, staged, gen, now, writes, announced)
    if (refusal !== '' && refusal !== REFUSALS.keys) return [...groups]
    // Letters come one per delta, group after group: back to one per transaction.
    let from = 0
    sent.forEach(({ folded, owners }, i) => {
      const letters = answered.slice(from, from + folded.deltas.length)
      from += folded.deltas.length
      const state = states[i] ?? 'n'
      if (refusal === REFUSALS.keys && state === 'n') {
        later.push(...owners)
        return
      }
      if (refusal === '') {
        // What the script judged itself and stored is the partition's too.
        partition.absorb(
          (edges[i] ?? [])
            .filter(({ index }) => letters[index] === STORED)
            .map(({ delta }) => delta),
          now,
        )
      }
      const ofTransactions = unfold(letters, folded)
      let start = 0
      for (const owner of owners) {
        const n = owner.transactions.length
        replies.set(owner, { letters: ofTransactions.slice(start, start + n), state, waitMs })
        start += n
      }
    })
    return later
  }

  /**
   * The record script, and with REDIS_WAIT_REPLICAS, WAIT after it on the same connection (a
   * pipeline goes to the node of its keys): answered only once that many replicas have the write.
   */
  async #recordCall(root: string, args: RecordArgs): Promise<RecordReply> {
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
    return recorded?.[1] as RecordReply
  }
}
