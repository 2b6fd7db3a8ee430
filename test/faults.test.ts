import { afterEach, describe, expect, it } from 'vitest'
import { type DrillFigures, FaultDrill } from './support/fault-drill.js'
import { freePort, ServiceProcess } from './support/processes.js'
import { OwnCluster, OwnRedis, until } from './support/redis-server.js'

/**
 * Faults of Redis and of the service under clients that retry every 503 and connection error with
 * the same Idempotency-Key: no transaction lost, none counted twice, every 5xx a 503
 * problem+json, and /ready saying 503 soon after a fault that makes requests fail.
 */
const WINDOW_MS = '300000'
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const cleanups: Array<() => Promise<unknown>> = []

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {})
})

async function service(env: Record<string, string>, processes = 1) {
  const started = new ServiceProcess({ STORE: 'redis', WINDOW_MS, ...env })
  cleanups.push(() => started.stop('SIGKILL'))
  const port = await started.listening(processes)
  return { process: started, url: `http://127.0.0.1:${port}` }
}

/**
 * Runs the drill around a fault (`fault` resolves when the fault is over: the throughput during it
 * is measured up to then; `recover` brings back what it took away); checks the ledger against
 * the service; returns the figures.
 */
async function drill(
  url: string,
  label: string,
  fault: () => Promise<void>,
  recover: () => Promise<void>,
  statisticsUrl?: () => string,
): Promise<DrillFigures> {
  const clients = new FaultDrill({ url, label, clients: 8 })
  clients.start()
  await sleep(1_000)
  clients.fault()
  await fault()
  clients.recovered()
  await recover()
  await sleep(500)
  await clients.stop()
  const figures = clients.figures()
  const reader = statisticsUrl ? new FaultDrill({ url: statisticsUrl(), label }) : clients
  const statistics = await reader.statistics()
  expect(figures.wrong).toBe(0)
  expect(figures.stored).toBeGreaterThan(0)
  // Not one lost, not one counted twice: the count and the exact sum are the ledger's.
  expect(statistics.count).toBe(figures.ledger.count)
  expect(statistics.sum).toBe(clients.ledgerSum())
  return figures
}

describe('faults, under clients that retry with the same key', () => {
  it('(a) a Redis with an fsynced append-only file killed with SIGKILL and restarted', async () => {
    const redis = await OwnRedis.start(['--appendonly', 'yes', '--appendfsync', 'always'])
    cleanups.push(() => redis.stop())
    const { url } = await service({ REDIS_URL: redis.url })
    const figures = await drill(
      url,
      'a',
      async () => {
        await redis.kill()
        await sleep(1_000)
      },
      () => redis.start(),
    )
    expect(figures.retries).toBeGreaterThan(0)
    expect(figures.readyDownAfterMs).toBeLessThan(1_000)
  }, 30_000)

  it('(b) a Redis frozen with SIGSTOP for longer than REDIS_TIMEOUT_MS', async () => {
    const redis = await OwnRedis.start()
    cleanups.push(() => redis.stop())
    const { url } = await service({ REDIS_URL: redis.url, REDIS_TIMEOUT_MS: '300' })
    const figures = await drill(
      url,
      'b',
      async () => {
        redis.pause()
        await sleep(1_500)
      },
      async () => redis.resume(),
    )
    expect(figures.retries).toBeGreaterThan(0)
    expect(figures.readyDownAfterMs).toBeLessThan(1_000)
  }, 30_000)

  it('(c) a cluster of 3 masters and 3 replicas, REDIS_SHARDS=3, REDIS_WAIT_REPLICAS=1, one master killed', async () => {
    const cluster = await OwnCluster.start(3, 1)
    cleanups.push(() => cluster.stop())
    const { url } = await service({
      REDIS_URL: cluster.url,
      REDIS_CLUSTER: 'true',
      REDIS_SHARDS: '3',
      REDIS_WAIT_REPLICAS: '1',
      REDIS_TIMEOUT_MS: '500',
    })
    const [victim] = (await cluster.masters()).filter((node) => node !== cluster.nodes[0])
    if (!victim) throw new Error('no master to kill')
    const figures = await drill(
      url,
      'c',
      async () => {
        const masters = (await cluster.masters()).length
        await victim.kill()
        // Failed over: its replica is a master, and the cluster serves every slot again.
        await until(async () => (await cluster.masters([victim])).length === masters, 20_000)
        await until(() => cluster.healthy([victim]), 20_000)
      },
      // Back as a replica of the master that took its place: writes there can be confirmed again.
      async () => {
        await victim.start()
        await until(() => cluster.replicasInSync(), 20_000)
      },
    )
    // Two shards of three keep taking writes while the third fails over.
    expect(figures.rateDuring).toBeGreaterThanOrEqual(figures.rateBefore * 0.5)
    expect(figures.readyDownAfterMs).toBeLessThan(1_000)
  }, 60_000)

  it('(d) the service stopped with SIGTERM and started again mid-traffic', async () => {
    const redis = await OwnRedis.start()
    cleanups.push(() => redis.stop())
    const port = String(await freePort())
    const env = { REDIS_URL: redis.url, PORT: port }
    const first = await service(env)
    await drill(
      first.url,
      'd',
      async () => {
        expect(await first.process.stop('SIGTERM')).toBe(0)
      },
      async () => {
        await service(env)
      },
    )
  }, 30_000)

  it('(e) WORKERS=2, one worker killed with SIGKILL', async () => {
    const redis = await OwnRedis.start()
    cleanups.push(() => redis.stop())
    const { process: primary, url } = await service(
      { REDIS_URL: redis.url, WORKERS: '2', REDIS_PREFIX: 'workers:' },
      2,
    )
    await drill(
      url,
      'e',
      async () => {
        const [worker] = primary.lines('listening at').map((line) => line.pid as number)
        if (worker === undefined) throw new Error('no worker pid')
        process.kill(worker, 'SIGKILL')
      },
      async () => {
        await until(async () => primary.stderr.includes('starting another'))
        await sleep(300)
      },
    )
  }, 30_000)
})
