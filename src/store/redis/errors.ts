/**
 * Errors that say the command never ran: the client could not write it, or Redis refused it
 * before running it (a cluster without that slot's master, a Redis loading its data, …).
 */
const REFUSED =
  /isn't writeable|enableOfflineQueue|isn't ready|None of startup nodes|Node is disconnected|Cluster is disconnected|^(MOVED|ASK|CLUSTERDOWN|TRYAGAIN|LOADING|MASTERDOWN|READONLY|OOM|BUSY)\b/

export function refusedBeforeRunning(error: unknown): boolean {
  return error instanceof Error && REFUSED.test(error.message)
}

/** The write was done, but fewer replicas than asked confirmed it in time. */
export class ReplicasBehindError extends Error {
  constructor(wanted: number, confirmed: number) {
    super(`${confirmed} of ${wanted} replicas confirmed the write in time`)
  }
}
