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
  sent: boolean
}

/**
 * Wraps a write so that the items of every caller in one turn of the event loop go out in one
 * call, made once the turn's I/O has been handled (setImmediate), and each caller gets the
 * outcomes of its own items, in order. A call that fails fails every caller in it alike.
 *
 * Under load, the requests parsed in one turn then cost Redis one script call instead of one
 * each: the per-call work (the round trip, the script's set-up, the window's bookkeeping) is
 * shared. A batch is sent early when the next caller's items would take it past `maxWeight`
 * (each item weighing `weight(item)`, 1 unless told); a caller with more than that goes alone.
 * With `flushMs`, a batch waits that long instead of one turn: denser batches, for that latency.
 */
export function batchWrites<I, O>(
  write: (items: I[]) => Promise<O[]>,
  maxWeight: number,
  weight: (item: I) => number = () => 1,
  flushMs = 0,
): (items: readonly I[]) => Promise<O[]> {
  let open: Batch<I, O> | undefined

  const send = (batch: Batch<I, O>): void => {
    if (batch.sent) return
    batch.sent = true
    if (open === batch) open = undefined
    let written: Promise<O[]>
    try {
      written = write(batch.items)
    } catch (error) {
      written = Promise.reject(error)
    }
    written.then(
      (outcomes) => {
        for (const { start, count, resolve } of batch.callers) {
          resolve(outcomes.slice(start, start + count))
        }
      },
      (error: unknown) => {
        for (const { reject } of batch.callers) reject(error)
      },
    )
  }

  return (items) =>
    new Promise<O[]>((resolve, reject) => {
      let added = 0
      for (const item of items) added += weight(item)
      if (open !== undefined && open.weight + added > maxWeight) send(open)
      if (open === undefined) {
        const batch: Batch<I, O> = { items: [], weight: 0, callers: [], sent: false }
        open = batch
        if (flushMs > 0) setTimeout(() => send(batch), flushMs)
        else setImmediate(() => send(batch))
      }
      open.callers.push({ start: open.items.length, count: items.length, resolve, reject })
      open.weight += added
      for (const item of items) open.items.push(item)
    })
}
