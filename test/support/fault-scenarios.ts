import { type DrillFigures, type DrillOptions, FaultDrill } from './fault-drill.js'
import { freePort, ServiceProcess } from './processes.js'
import { OwnCluster, OwnRedis, until } from './redis-server.js'

/**
 * The faults the service must come through without losing or doubling a transaction, each with
 * the service and the Redis it needs: run by the fault tests (short) and by the soak (longer).
 */
export interface FaultScenario {
  name: string
  /** Starts Redis and the service; what stops them is pushed on `cleanups`. */
  prepare(timing: Timing, cleanups: Cleanups): Promise<Prepared>
}

export interface Timing {
  /** How long a fault lasts, where the scenario decides (a Redis down, frozen). */
  outageMs: number
}

type Cleanups = Array<() => Promise<unknown>>

interface Prepared {
  url: string
  /** Resolves when the fault is over; the throughput during it is measured up to then. */
  fault(): Promise<void>
  /** Brings back what the fault took away. */
  recover(): Promise<void>
  /** The service's log so far. */
  log(): string
}

const WINDOW_MS = '300000'
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function service(cleanups: Cleanups, env: Record<string, string>, processes = 1) {
  const started = new ServiceProcess({ STORE: 'redis', WINDOW_MS, ...env })
  cleanups.push(() => started.stop('SIGKILL'))
  const port = await started.listening(processes)
  return { process: started, url: `http://127.0.0.1:${port}` }
}

async function ownRedis(cleanups: Cleanups, args: string[] = []): Promise<OwnRedis> {
  const redis = await OwnRedis.start(args)
  cleanups.push(() => redis.stop())
  return redis
}

export const SCENARIOS: readonly FaultScenario[] = [
  {
    name: '(a) Redis, fsynced AOF, SIGKILL and restart',
    async prepare({ outageMs }, cleanups) {
      const redis = await ownRedis(cleanups, ['--appendonly', 'yes', '--appendfsync', 'always'])
      const { process, url } = await service(cleanups, { REDIS_URL: redis.url })
      return {
        url,
        log: () => process.stdout,
        async fault() {
          await redis.kill()
          await sleep(outageMs)
        },
        recover: () => redis.start(),
      }
    },
  },
  {
    name: '(b) Redis frozen (SIGSTOP) past REDIS_TIMEOUT_MS',
    async prepare({ outageMs }, cleanups) {
      const redis = await ownRedis(cleanups)
      const { process, url } = await service(cleanups, {
        REDIS_URL: redis.url,
        REDIS_TIMEOUT_MS: '300',
      })
      return {
        url,
        log: () => process.stdout,
        async fault() {
          redis.pause()
          await sleep(outageMs)
        },
        recover: async () => redis.resume(),
      }
    },
  },
  {
    name: '(c) cluster 3+3, 3 shards, WAIT 1, master SIGKILL',
    async prepare(_timing, cleanups) {
      const cluster = await OwnCluster.start(3, 1)
      cleanups.push(() => cluster.stop())
      const { process, url } = await service(cleanups, {
        REDIS_URL: cluster.url,
        REDIS_CLUSTER: 'true',
        REDIS_SHARDS: '3',
        REDIS_WAIT_REPLICAS: '1',
        REDIS_TIMEOUT_MS: '500',
      })
      const [victim] = (await cluster.masters()).filter((node) => node !== cluster.nodes[0])
      if (!victim) throw new Error('no master to kill')
      return {
        url,
        log: () => process.stdout,
        // The fault lasts until the cluster has failed over: a replica is master in its place.
        async fault() {
          const masters = (await cluster.masters()).length
          await victim.kill()
          await until(async () => (await cluster.masters([victim])).length === masters, 20_000)
          await until(() => cluster.healthy([victim]), 20_000)
        },
        // Back as a replica of the master that took its place: its writes can be confirmed again.
        async recover() {
          await victim.start()
          await until(() => cluster.replicasInSync(), 20_000)
        },
      }
    },
  },
  {
    name: '(d) service SIGTERM and restart',
    async prepare({ outageMs }, cleanups) {
      const redis = await ownRedis(cleanups)
      const env = { REDIS_URL: redis.url, PORT: String(await freePort()) }
      const first = await service(cleanups, env)
      let current = first.process
      return {
        url: first.url,
        log: () => current.stdout,
        async fault() {
          const code = await first.process.stop('SIGTERM')
          if (code !== 0) throw new Error(`the service exited with ${code}`)
          await sleep(outageMs / 4)
        },
        async recover() {
          current = (await service(cleanups, env)).process
        },
      }
    },
  },
  {
    name: '(e) WORKERS=2, one worker SIGKILL',
    async prepare(_timing, cleanups) {
      const redis = await ownRedis(cleanups)
      const { process: primary, url } = await service(
        cleanups,
        { REDIS_URL: redis.url, WORKERS: '2' },
        2,
      )
      return {
        url,
        log: () => primary.stdout,
        async fault() {
          const [worker] = primary.lines('listening at').map((line) => line.pid as number)
          if (worker === undefined) throw new Error('no worker pid')
          process.kill(worker, 'SIGKILL')
          await until(async () => primary.stderr.includes('starting another'))
        },
        async recover() {
          await sleep(300)
        },
      }
    },
  },
]

export interface ScenarioRun {
  figures: DrillFigures
  /** What the service counted at the end, and the client's ledger. */
  count: number
  sum: number
  ledgerCount: number
  ledgerSum: number
  /** The service's warn lines (40) and errors (50 and above). */
  warnings: string[]
}

/** Traffic before the fault, the fault, the recovery, traffic after, then the ledger's check. */
export async function runScenario(
  scenario: FaultScenario,
  {
    beforeMs,
    afterMs,
    outageMs,
    clients = 8,
    backoff,
  }: Timing & {
    beforeMs: number
    afterMs: number
    clients?: number
    backoff?: DrillOptions['backoff']
  },
): Promise<ScenarioRun> {
  const cleanups: Cleanups = []
  try {
    const prepared = await scenario.prepare({ outageMs }, cleanups)
    const drill = new FaultDrill({
      url: prepared.url,
      label: scenario.name.slice(0, 3),
      clients,
      ...(backoff ? { backoff } : {}),
    })
    drill.start()
    await sleep(beforeMs)
    drill.fault()
    await prepared.fault()
    drill.recovered()
    await prepared.recover()
    await sleep(afterMs)
    await drill.stop()
    const statistics = await drill.statistics()
    const figures = drill.figures()
    return {
      figures,
      count: statistics.count,
      sum: statistics.sum,
      ledgerCount: figures.ledger.count,
      ledgerSum: drill.ledgerSum(),
      warnings: prepared
        .log()
        .split('\n')
        .filter((line) => /"level":(4|5|6)0/.test(line)),
    }
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {})
  }
}
