/**
 * Wraps a read so that concurrent callers share reads: a caller arriving while a read is in
 * flight waits for the next one, which starts when that one settles. It never joins the read in
 * flight, which may have been answered before the caller arrived and miss a write the caller has
 * already seen acknowledged. Under load, one read per round trip serves every waiting caller.
 */
export function coalesce<T>(read: () => Promise<T>): () => Promise<T> {
  let inFlight: Promise<T> | undefined
  let next: Promise<T> | undefined
  const start = (): Promise<T> => {
    const current = read().finally(() => {
      if (inFlight === current) inFlight = undefined
    })
    inFlight = current
    return current
  }
  return () => {
    if (inFlight === undefined) return start()
    next ??= inFlight.then(ignore, ignore).then(() => {
      next = undefined
      return start()
    })
    return next
  }
}

function ignore(): void {}
