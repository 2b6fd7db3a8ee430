import { describe, expect, it } from 'vitest'
import { QuantileMapping } from '../../../src/core/quantiles/quantile-mapping.js'
import { quantileSettings } from '../../../src/core/quantiles/settings.js'
import { fold } from '../../../src/store/redis/fold.js'
import {
  SKETCH_SUM_FROM,
  SKETCH_SUM_HASH,
  sketchField,
  sketchHash,
} from '../../../src/store/redis/layout.js'
import { Judgement, Partition, REFUSALS } from '../../../src/store/redis/partition.js'
import {
  PartitionSketches,
  type StagedSketches,
} from '../../../src/store/redis/partition-sketches.js'

const WINDOW_MS = 10_000
const SKEW_MS = 2_000
const T = 1_700_000_000_005
const mapping = new QuantileMapping()
const { budget } = quantileSettings({}, WINDOW_MS, SKEW_MS)

/** The deltas of these transactions that are stored at `now`. */
function stored(transactions: Array<{ amount: number; timestamp: number }>, now = T) {
  const judgement = new Judgement(now, WINDOW_MS, SKEW_MS)
  judgement.judge(fold(transactions, mapping).deltas, [])
  return judgement.stored
}

/** A staged hash's fields, as a map of text. */
function fieldsOf(staged: StagedSketches, hash: string) {
  const write = staged.hashes.find((h) => h.hash === hash)
  const fields = new Map<string, string>()
  for (let i = 0; i < (write?.fields.length ?? 0); i += 2) {
    fields.set(write?.fields[i] as string, write?.fields[i + 1] as string)
  }
  return { write, fields }
}

const second = Math.floor(T / 1_000)
const index = (amount: number) => mapping.index(amount)

describe("a writer's quantile sketches", () => {
  it('write the counts each call changes, as the writer holds them, and expire a hash once, when new', () => {
    const sketches = new PartitionSketches(mapping, budget, WINDOW_MS, SKEW_MS)
    const first = sketches.stage(stored([{ amount: 5, timestamp: T }]), [], T)
    // The 1 ms block's group of ten, written new with its expiry; the count as it will be.
    const ms = fieldsOf(first, sketchHash(0, Math.floor(T / 10)))
    expect(ms.write?.newUntil).toBe(String(Math.floor(T / 10) * 10 + 9))
    expect(ms.fields).toEqual(new Map([[sketchField(T % 10, index(5)), '1']]))
    // The sum of the whole seconds, written whole the first time: from its first second on.
    const sum = fieldsOf(first, SKETCH_SUM_HASH)
    expect(first.deletes).toContain(SKETCH_SUM_HASH)
    expect(sum.fields.get(index(5).toString())).toBe('1')
    expect(Number(sum.fields.get(SKETCH_SUM_FROM))).toBeLessThanOrEqual(second - 9)
    sketches.commit(first, T)

    const again = sketches.stage(
      stored([
        { amount: 5, timestamp: T },
        { amount: 7, timestamp: T },
      ]),
      [],
      T,
    )
    const next = fieldsOf(again, sketchHash(0, Math.floor(T / 10)))
    expect(next.write?.newUntil).toBe('') // the hash is Redis's already
    expect(next.fields).toEqual(
      new Map([
        [sketchField(T % 10, index(5)), '2'],
        [sketchField(T % 10, index(7)), '1'],
      ]),
    )
    // Seconds left the sum at the commit (the window moved to where the writer is): whole again.
    expect(again.deletes).toContain(SKETCH_SUM_HASH)
    sketches.commit(again, T)
    const third = sketches.stage(stored([{ amount: 7, timestamp: T }]), [], T)
    expect(third.deletes).not.toContain(SKETCH_SUM_HASH) // nothing left it since
    expect(fieldsOf(third, SKETCH_SUM_HASH).fields).toEqual(new Map([[String(index(7)), '2']]))
  })

  it('free blocks to make room before the call, skip them, and say where from', () => {
    // A budget that holds little more than the seconds: the finer levels are freed early.
    const sketches = new PartitionSketches(mapping, 4_000, WINDOW_MS, SKEW_MS)
    let now = T
    let staged = sketches.stage(stored([{ amount: 1, timestamp: now }], now), [], now)
    sketches.commit(staged, now)
    for (let k = 1; k <= 20; k++) {
      now += 1
      const amounts = Array.from({ length: 5 }, (_, i) => ({ amount: k * 10 + i, timestamp: now }))
      staged = sketches.stage(stored(amounts, now), [], now)
      // Within the budget before the call, or every finer block freed (the seconds are the floor).
      const finer = [0, 1, 2].every(
        (level) => sketches.held.kept(level) > (now + SKEW_MS) / 10 ** level,
      )
      if (!finer) expect(sketches.held.bytes).toBeLessThanOrEqual(4_000)
      sketches.commit(staged, now)
    }
    // The 1 ms level was freed past the first blocks: the pointer is sent, and written.
    expect(staged.kept[0]).not.toBe('')
    expect(Number(staged.kept[0])).toBeGreaterThan(T)
    // A transaction in a block freed early is not written to its sketch.
    const late = sketches.stage(stored([{ amount: 3, timestamp: T }], now), [], now)
    expect(fieldsOf(late, sketchHash(0, Math.floor(T / 10))).write).toBeUndefined()
  })

  it('follow the partition: a call in doubt that ran is theirs, a partition started afresh is empty', () => {
    const sketches = new PartitionSketches(mapping, budget, WINDOW_MS, SKEW_MS)
    const partition = new Partition(WINDOW_MS, sketches)
    partition.settle('', partition.stage(stored([{ amount: 1, timestamp: T }]), T), 0, T, 1)
    partition.doubt(partition.stage(stored([{ amount: 1, timestamp: T }]), T))
    partition.settle(REFUSALS.lost, partition.stage([], T), 0, T, 2)
    // Both calls' amounts are held: the next call writes the count as 3.
    const next = partition.stage(stored([{ amount: 1, timestamp: T }]), T)
    const { fields } = fieldsOf(next.sketches as StagedSketches, sketchHash(0, Math.floor(T / 10)))
    expect(fields.get(sketchField(T % 10, index(1)))).toBe('3')

    partition.abandon()
    const fresh = partition.stage(stored([{ amount: 1, timestamp: T }]), T)
    const ms = fieldsOf(fresh.sketches as StagedSketches, sketchHash(0, Math.floor(T / 10)))
    expect(ms.fields.get(sketchField(T % 10, index(1)))).toBe('1')
    expect(ms.write?.newUntil).not.toBe('')
  })
})
