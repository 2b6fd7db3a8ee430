/**
 * Wraps a read so that concurrent callers share reads: a caller arriving while a read is in
 * flight waits for the next one, which starts when that one settles. It never joins the read in
 * flight, which may have been answered before the caller arrived and miss a write the caller has
 * already seen acknowledged. Under load, one read per round trip serves every waiting caller.
 * `idle()` says that no read is in flight or waiting, so a holder of many may let this one go.
 */
export interface Coalesced<T> {
  (): Promise<T>
  idle(): boolean
}

export function coalesce<T>(read: () => Promise<T>): Coalesced<T> {
  let inFlight: Promise<T> | undefined
  let next: Promise<T> | undefined
  const start = (): Promise<T> => {
    const current = read().finally(() => {
      if (inFlight === current) inFlight = undefined
    })
    inFlight = current
    return current
  }
  const shared = () => {
    if (inFlight === undefined) return start()
    next ??= inFlight.then(ignore, ignore).then(() => {
      next = undefined
      return start()
    })
    return next
  }
  return Object.assign(shared, { idle: () => inFlight === undefined && next === undefined })
}

function ignore(): void {}
