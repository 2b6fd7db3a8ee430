import { describe, expect, it } from 'vitest'
import { type Aggregate, addAggregate, emptyAggregate } from '../../../src/core/amount/aggregate.js'
import { fold } from '../../../src/store/redis/fold.js'
import { blockPlace, packBlock } from '../../../src/store/redis/layout.js'
import { Judgement, Partition, REFUSALS } from '../../../src/store/redis/partition.js'

const WINDOW_MS = 60_000
const T = 1_700_000_000_005

/** The deltas of these transactions that are stored at T. */
function stored(transactions: Array<{ amount: number; timestamp: number }>) {
  const judgement = new Judgement(T, WINDOW_MS, 2_000)
  judgement.judge(fold(transactions, undefined).deltas, [])
  return judgement.stored
}

/** A packed block's count (layout.ts: the first of its doubles). */
const countOf = (packed: Buffer | undefined) => packed?.readDoubleLE(0)

/** The fields a staged write gives a hash, as a map. */
function fieldsOf(partition: Partition, hash: string, staged = partition.stage([], T)) {
  const write = staged.hashes.find((h) => h.hash === hash)
  const fields = new Map<string, Buffer>()
  for (let i = 0; i < (write?.fields.length ?? 0); i += 2) {
    fields.set(write?.fields[i] as string, write?.fields[i + 1] as Buffer)
  }
  return { write, fields }
}

describe('a writer partition', () => {
  it('writes every block it changes whole: what it held plus what the write adds, exactly', () => {
    const partition = new Partition(WINDOW_MS)
    const first = stored([
      { amount: 1.1, timestamp: T },
      { amount: 2.2, timestamp: T + 1 },
    ])
    const staged = partition.stage(first, T)
    const tens = blockPlace(1, Math.floor(T / 10))
    const { write } = fieldsOf(partition, tens.hash, staged)
    // A new hash: written with its expiry, its own block first.
    expect(write?.newUntil).toBe(String(Math.floor(T / 10) * 10 + 9))
    expect(write?.fields[0]).toBe('o')
    partition.settle('', staged, 0, T, 1)

    const second = stored([{ amount: -0.3, timestamp: T }])
    const again = partition.stage(second, T)
    const { write: next, fields } = fieldsOf(partition, tens.hash, again)
    expect(next?.newUntil).toBe('') // it exists: no expiry again
    const own: Aggregate = emptyAggregate()
    for (const delta of [...first, ...second]) addAggregate(own, delta)
    expect(fields.get('o')).toEqual(packBlock(own))
    expect(countOf(fields.get(String(T % 10)))).toBe(2) // 1.1 and -0.3 in the 1 ms block of T
    expect(fields.has(String((T + 1) % 10))).toBe(false) // untouched: not sent again
  })

  it('starts afresh when abandoned: a new id, and every hash new', () => {
    const partition = new Partition(WINDOW_MS)
    const deltas = stored([{ amount: 5, timestamp: T }])
    partition.settle('', partition.stage(deltas, T), 3, T, 1)
    const id = partition.id
    partition.abandon()
    expect(partition.id).not.toBe(id)
    expect([partition.seq, partition.gen]).toEqual([0, undefined])
    const staged = partition.stage(deltas, T)
    for (const write of staged.hashes) expect(write.newUntil).not.toBe('')
    const { fields } = fieldsOf(partition, blockPlace(1, Math.floor(T / 10)).hash, staged)
    expect(countOf(fields.get('o'))).toBe(1)
  })

  it('lets go of blocks that left the window, which no write can reach again', () => {
    const partition = new Partition(WINDOW_MS)
    partition.settle('', partition.stage(stored([{ amount: 5, timestamp: T }]), T), 0, T, 1)
    partition.settle('', partition.stage([], T), 0, T + WINDOW_MS + 10_000, 2)
    const staged = partition.stage(stored([{ amount: 5, timestamp: T }]), T)
    for (const write of staged.hashes) expect(write.newUntil).not.toBe('')
  })

  it('estimates the instant as the script will read it: held at the last, afresh after a step of a window', () => {
    const partition = new Partition(WINDOW_MS)
    expect(partition.estimate(String(T), '')).toBe(T)
    partition.observe(T + 500, String(T))
    expect(partition.estimate(String(T), '')).toBe(T + 500) // held, as advance holds it
    expect(partition.estimate(String(T), String(T + 900))).toBe(T + 900) // another shard's floor
    expect(partition.estimate(String(T - WINDOW_MS), '')).toBe(T - WINDOW_MS) // a new generation
  })

  it('keeps a call in doubt whose count of writes shows it ran, and starts afresh when the count is another', () => {
    const ran = new Partition(WINDOW_MS)
    ran.settle('', ran.stage(stored([{ amount: 1, timestamp: T }]), T), 0, T, 1)
    const id = ran.id
    ran.doubt(ran.stage(stored([{ amount: 2, timestamp: T }]), T))
    ran.settle(REFUSALS.lost, ran.stage([], T), 0, T, 2)
    expect([ran.id, ran.seq]).toEqual([id, 2])
    const { fields } = fieldsOf(ran, blockPlace(1, Math.floor(T / 10)).hash, ran.stage([], T))
    expect(fields.size).toBe(0) // nothing staged: the stage of no deltas writes nothing
    const next = ran.stage(stored([{ amount: 4, timestamp: T }]), T)
    const tens = fieldsOf(ran, blockPlace(1, Math.floor(T / 10)).hash, next)
    expect(countOf(tens.fields.get('o'))).toBe(3)

    const lost = new Partition(WINDOW_MS)
    lost.settle('', lost.stage(stored([{ amount: 1, timestamp: T }]), T), 0, T, 1)
    const before = lost.id
    lost.doubt(lost.stage(stored([{ amount: 2, timestamp: T }]), T))
    lost.settle(REFUSALS.lost, lost.stage([], T), 0, T, 0) // a Redis that restarted empty
    expect([lost.id === before, lost.seq]).toEqual([false, 0])
  })

  it('starts afresh when two calls were in doubt: a count one more cannot say which ran', () => {
    const partition = new Partition(WINDOW_MS)
    partition.settle('', partition.stage(stored([{ amount: 1, timestamp: T }]), T), 0, T, 1)
    const id = partition.id
    partition.doubt(partition.stage(stored([{ amount: 2, timestamp: T }]), T))
    partition.doubt(partition.stage(stored([{ amount: 3, timestamp: T }]), T))
    partition.settle(REFUSALS.lost, partition.stage([], T), 0, T, 2)
    expect(partition.id).not.toBe(id)
  })

  it('starts afresh when the call in doubt left deltas to the script, whose outcomes it never heard', () => {
    const partition = new Partition(WINDOW_MS)
    partition.settle('', partition.stage(stored([{ amount: 1, timestamp: T }]), T), 0, T, 1)
    const id = partition.id
    partition.doubt(undefined)
    partition.settle(REFUSALS.lost, partition.stage([], T), 0, T, 2)
    expect(partition.id).not.toBe(id)
  })
})
