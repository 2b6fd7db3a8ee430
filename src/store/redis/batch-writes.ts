/** One caller's share of a batch: where its items start, how many, and how to answer it. */
interface Caller<O> {
  start: number
  count: number
  resolve: (outcomes: O[]) => void
  reject: (error: unknown) => void
}

interface Batch<I, O> {
  items: I[]
  weight: number
  callers: Caller<O>[]
  /** Takes no more callers. */
  closed: boolean
  /** Its turn (or flushMs) is over: it goes as soon as no call is in flight. */
  due: boolean
}

/**
 * Wraps a write so that the items of every caller in one turn of the event loop go out in one
 * call, made once the turn's I/O has been handled (setImmediate), and each caller gets the
 * outcomes of its own items, in order. A call that fails fails every caller in it alike.
 *
 * One call is in flight at a time: the callers that arrive meanwhile gather into the next call,
 * made as soon as the one in flight is answered. Under load, the requests parsed while Redis
 * works then cost it one script call instead of one each (the per-call work, the round trip, the
 * script's set-up and the window's bookkeeping, is shared), and a call is prepared knowing how the
 * last one was answered (a writer's partition: see partition.ts). A batch is closed early when the
 * next caller's items would take it past `maxWeight` (each item weighing `weight(item)`, 1 unless
 * told); a caller with more than that goes alone. With `flushMs`, a batch waits that long
 * instead of one turn: denser batches, for that latency.
 */
export function batchWrites<I, O>(
  write: (items: I[]) => Promise<O[]>,
  maxWeight: number,
  weight: (item: I) => number = () => 1,
  flushMs = 0,
): (items: readonly I[]) => Promise<O[]> {
  let open: Batch<I, O> | undefined
  /** Batches closed while a call was in flight, in order. */
  const waiting: Batch<I, O>[] = []
  let inFlight = false

  const next = (): void => {
    inFlight = false
    const queued = waiting.shift()
    if (queued !== undefined) start(queued)
    else if (open?.due) close(open)
  }

  const start = (batch: Batch<I, O>): void => {
    inFlight = true
    let written: Promise<O[]>
    try {
      written = write(batch.items)
    } catch (error) {
      written = Promise.reject(error)
    }
    written
      .then(
        (outcomes) => {
          for (const { start, count, resolve } of batch.callers) {
            resolve(outcomes.slice(start, start + count))
          }
        },
        (error: unknown) => {
          for (const { reject } of batch.callers) reject(error)
        },
      )
      .then(next)
  }

  const close = (batch: Batch<I, O>): void => {
    if (batch.closed) return
    batch.closed = true
    if (open === batch) open = undefined
    if (inFlight) waiting.push(batch)
    else start(batch)
  }

  const due = (batch: Batch<I, O>): void => {
    batch.due = true
    if (!inFlight) close(batch)
  }

  return (items) =>
    new Promise<O[]>((resolve, reject) => {
      let added = 0
      for (const item of items) added += weight(item)
      if (open !== undefined && open.weight + added > maxWeight) close(open)
      if (open === undefined) {
        const batch: Batch<I, O> = { items: [], weight: 0, callers: [], closed: false, due: false }
        open = batch
        if (flushMs > 0) setTimeout(() => due(batch), flushMs)
        else setImmediate(() => due(batch))
      }
      open.callers.push({ start: open.items.length, count: items.length, resolve, reject })
      open.weight += added
      for (const item of items) open.items.push(item)
    })
}
