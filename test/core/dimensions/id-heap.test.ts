import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { IdHeap } from '../../../src/core/dimensions/id-heap.js'

describe('IdHeap', () => {
  it('keeps the least key on top through any pushes, removals and raised top keys', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ op: fc.constant('push' as const), key: fc.integer({ min: -50, max: 50 }) }),
            fc.record({ op: fc.constant('remove' as const), pick: fc.nat() }),
            fc.record({ op: fc.constant('raise' as const), by: fc.integer({ min: 0, max: 20 }) }),
          ),
          { maxLength: 200 },
        ),
        (ops) => {
          const capacity = 64
          const heap = new IdHeap(capacity)
          const keys = new Map<number, number>() // the truth: id → key
          const free = Array.from({ length: capacity }, (_, id) => id)
          for (const step of ops) {
            if (step.op === 'push' && free.length > 0) {
              const id = free.pop() as number
              heap.push(id, step.key)
              keys.set(id, step.key)
            } else if (step.op === 'remove' && keys.size > 0) {
              const id = [...keys.keys()][step.pick % keys.size] as number
              heap.remove(id)
              keys.delete(id)
              free.push(id)
            } else if (step.op === 'raise' && keys.size > 0) {
              const id = heap.idAt(0)
              const key = (keys.get(id) as number) + step.by
              heap.setTopKey(key)
              keys.set(id, key)
            }
            expect(heap.size).toBe(keys.size)
            expect(heap.topKey()).toBe(keys.size === 0 ? Infinity : Math.min(...keys.values()))
            const held = Array.from({ length: heap.size }, (_, i) => heap.idAt(i)).sort(
              (a, b) => a - b,
            )
            expect(held).toEqual([...keys.keys()].sort((a, b) => a - b))
          }
        },
      ),
    )
  })
})
