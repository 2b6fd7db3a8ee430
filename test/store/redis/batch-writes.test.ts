import { describe, expect, it, vi } from 'vitest'
import { batchWrites } from '../../../src/store/redis/batch-writes.js'

/** A write that records each call's items and answers each item doubled. */
function recordingWrite() {
  const calls: number[][] = []
  const write = async (items: number[]) => {
    calls.push([...items])
    return items.map((item) => item * 2)
  }
  return { calls, write }
}

describe('batchWrites', () => {
  it('sends the items of one turn in one call and gives each caller its own outcomes', async () => {
    const { calls, write } = recordingWrite()
    const batched = batchWrites(write, 100)
    const answers = await Promise.all([batched([1, 2]), batched([3]), batched([4, 5, 6])])
    expect(calls).toEqual([[1, 2, 3, 4, 5, 6]])
    expect(answers).toEqual([[2, 4], [6], [8, 10, 12]])
  })

  it('makes one call per turn: a caller after the turn goes in the next call', async () => {
    const { calls, write } = recordingWrite()
    const batched = batchWrites(write, 100)
    const first = batched([1])
    await new Promise((resolve) => setImmediate(resolve))
    const second = batched([2])
    expect(await Promise.all([first, second])).toEqual([[2], [4]])
    expect(calls).toEqual([[1], [2]])
  })

  it('sends a batch early rather than take it past the limit', async () => {
    const { calls, write } = recordingWrite()
    const batched = batchWrites(write, 3)
    const answers = await Promise.all([batched([1, 2]), batched([3, 4]), batched([5]), batched([])])
    expect(calls).toEqual([
      [1, 2],
      [3, 4, 5],
    ])
    expect(answers).toEqual([[2, 4], [6, 8], [10], []])
  })

  it('weighs items as told: a batch is sent before its weight would pass the limit', async () => {
    const { calls, write } = recordingWrite()
    const batched = batchWrites(write, 10, (item) => item)
    await Promise.all([batched([4]), batched([5]), batched([3]), batched([9])])
    expect(calls).toEqual([[4, 5], [3], [9]])
  })

  it('with a flush interval, gathers the writes of several turns into one call', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout'] })
    try {
      const { calls, write } = recordingWrite()
      const batched = batchWrites(write, 100, () => 1, 20)
      const first = batched([1])
      await new Promise((resolve) => setImmediate(resolve))
      const second = batched([2])
      vi.advanceTimersByTime(19)
      expect(calls).toEqual([])
      vi.advanceTimersByTime(1)
      expect(await Promise.all([first, second])).toEqual([[2], [4]])
      expect(calls).toEqual([[1, 2]])
    } finally {
      vi.useRealTimers()
    }
  })

  it('fails every caller of a failed call alike, and only them', async () => {
    let fail = true
    const batched = batchWrites(async (items: number[]) => {
      if (fail) throw new Error('down')
      return items
    }, 100)
    const failed = await Promise.allSettled([batched([1]), batched([2])])
    expect(failed.map((result) => result.status)).toEqual(['rejected', 'rejected'])
    fail = false
    expect(await batched([3])).toEqual([3])
  })

  it('turns a write that throws before it returns a promise into failed callers', async () => {
    const batched = batchWrites<number, number>(() => {
      throw new Error('bad arguments')
    }, 100)
    await expect(batched([1])).rejects.toThrow('bad arguments')
  })

  it('keeps one call in flight: the callers of the turns meanwhile go together in the next', async () => {
    const calls: number[][] = []
    const answers: Array<() => void> = []
    const batched = batchWrites((items: number[]) => {
      calls.push([...items])
      return new Promise<number[]>((resolve) => answers.push(() => resolve(items)))
    }, 100)
    const turn = () => new Promise((resolve) => setImmediate(resolve))
    const first = batched([1])
    await turn()
    const later = [batched([2])]
    await turn()
    later.push(batched([3]))
    await turn()
    expect(calls).toEqual([[1]]) // 2 and 3 wait for the call in flight
    answers.shift()?.()
    expect(await first).toEqual([1])
    await turn()
    expect(calls).toEqual([[1], [2, 3]])
    answers.shift()?.()
    expect(await Promise.all(later)).toEqual([[2], [3]])
  })
})
