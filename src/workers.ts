import cluster, { type Worker } from 'node:cluster'

/** What the primary sends a worker to have it shut down gracefully. */
export const SHUTDOWN = 'txstats:shutdown'

/**
 * Runs `count` processes of the service on one port (node:cluster: the primary accepts and hands
 * connections round-robin to the workers, which run the service). A worker that dies after it
 * started listening is replaced; one that dies before, e.g. on a port already taken, stops the
 * whole service with its exit code, rather than being restarted in a loop. On SIGTERM or SIGINT the
 * primary asks every worker, once, to shut down gracefully (workers ignore signals, which a
 * terminal or a supervisor may send to the whole group), then exits 0.
 */
export function superviseWorkers(count: number): void {
  let stopping = false
  const listening = new WeakSet<Worker>()
  const fork = () => {
    const worker = cluster.fork()
    worker.on('listening', () => listening.add(worker))
  }
  for (let i = 0; i < count; i++) fork()

  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0)
      return
    }
    if (!listening.has(worker)) {
      stopping = true
      stopAll()
      process.exitCode = code || 1
      return
    }
    process.stderr.write(
      `worker ${worker.process.pid} exited (${signal ?? code}); starting another\n`,
    )
    fork()
  })

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      stopping = true
      stopAll()
    })
  }
}

function stopAll(): void {
  for (const worker of Object.values(cluster.workers ?? {})) {
    if (worker?.isConnected()) worker.send(SHUTDOWN)
  }
}
