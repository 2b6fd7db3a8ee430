/**
 * A min-heap of ids (0 to capacity − 1) by a key per id, that knows where each id is, so that any
 * id can be taken out in O(log n) and the top's key changed in place. Allocates nothing after
 * construction: the ids of a dimension's tracked values, ordered by when they may leave.
 */
export class IdHeap {
  /** The key of each id; set it with push or setTopKey so the order holds. */
  readonly #keys: Float64Array
  readonly #heap: Int32Array
  /** Where each id in the heap is. */
  readonly #at: Int32Array
  #size = 0

  constructor(capacity: number) {
    this.#keys = new Float64Array(capacity)
    this.#heap = new Int32Array(capacity)
    this.#at = new Int32Array(capacity)
  }

  get size(): number {
    return this.#size
  }

  /** The id at position i (0 the top); every position below size holds one, in no useful order. */
  idAt(i: number): number {
    return this.#heap[i] as number
  }

  /** The top id's key: the least; +∞ when empty. */
  topKey(): number {
    return this.#size === 0
      ? Number.POSITIVE_INFINITY
      : (this.#keys[this.#heap[0] as number] as number)
  }

  push(id: number, key: number): void {
    this.#keys[id] = key
    const at = this.#size++
    this.#heap[at] = id
    this.#at[id] = at
    this.#siftUp(at)
  }

  /** Gives the top id a greater key and puts it back in order. */
  setTopKey(key: number): void {
    this.#keys[this.#heap[0] as number] = key
    this.#siftDown(0)
  }

  remove(id: number): void {
    const last = this.#heap[--this.#size] as number
    const at = this.#at[id] as number
    if (last === id) return
    this.#heap[at] = last
    this.#at[last] = at
    this.#siftDown(at)
    this.#siftUp(this.#at[last] as number)
  }

  #less(a: number, b: number): boolean {
    return (
      (this.#keys[this.#heap[a] as number] as number) <
      (this.#keys[this.#heap[b] as number] as number)
    )
  }

  #swap(a: number, b: number): void {
    const heap = this.#heap
    const x = heap[a] as number
    const y = heap[b] as number
    heap[a] = y
    heap[b] = x
    this.#at[y] = a
    this.#at[x] = b
  }

  #siftUp(at: number): void {
    let i = at
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.#less(i, parent)) return
      this.#swap(i, parent)
      i = parent
    }
  }

  #siftDown(at: number): void {
    let i = at
    for (;;) {
      const left = 2 * i + 1
      if (left >= this.#size) return
      const right = left + 1
      const child = right < this.#size && this.#less(right, left) ? right : left
      if (!this.#less(child, i)) return
      this.#swap(i, child)
      i = child
    }
  }
}
