import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import { freePort } from './processes.js'

const run = promisify(execFile)

/** A redis-server of a test's own, on a free port, that the test can stop and start again. */
export class OwnRedis {
  readonly dir = mkdtempSync(join(tmpdir(), 'redis-'))
  #process: ChildProcess | undefined

  constructor(
    readonly port: number,
    readonly extraArgs: string[] = [],
  ) {}

  static async start(extraArgs: string[] = []): Promise<OwnRedis> {
    const redis = new OwnRedis(await freePort(), extraArgs)
    await redis.start()
    return redis
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  async start(): Promise<void> {
    this.#process = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--dir',
        this.dir,
        ...this.extraArgs,
      ],
      { stdio: 'ignore' },
    )
    // Not just spawned: answering, with its append-only file (if any) loaded.
    await waitForPing(this.url)
  }

  /** Freezes Redis (SIGSTOP): connections stay open, nothing is answered, as a hung server. */
  pause(): void {
    this.#process?.kill('SIGSTOP')
  }

  resume(): void {
    this.#process?.kill('SIGCONT')
  }

  /** A crash (SIGKILL): Redis stops at once; what it had not written to disk is lost. */
  async kill(): Promise<void> {
    const child = this.#process
    if (!child || child.exitCode !== null) return
    child.kill('SIGKILL')
    await once(child, 'exit')
  }

  /** A clean shutdown (SIGTERM): Redis finishes the command it is running, then exits. */
  async stop(): Promise<void> {
    const child = this.#process
    if (!child || child.exitCode !== null) return
    child.kill('SIGCONT') // a paused server would not act on SIGTERM
    child.kill('SIGTERM')
    await once(child, 'exit')
  }
}

/** Runs one command on a Redis and disconnects. */
export async function command(url: string, ...args: string[]): Promise<unknown> {
  const client = new Redis(url, { maxRetriesPerRequest: 0, retryStrategy: () => null })
  client.on('error', () => {}) // a node that is down fails the command
  try {
    return await client.call(args[0] as string, ...args.slice(1))
  } finally {
    client.disconnect()
  }
}

/** Waits until `condition` holds, checking every 50 ms, for at most `timeoutMs`. */
export async function until(
  condition: () => Promise<boolean> | boolean,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out waiting')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/**
 * A Redis Cluster of a test's own: `masters` masters, each with `replicas` replicas, made by
 * redis-cli. A short node timeout makes a failover take about a second or two, not fifteen.
 */
export class OwnCluster {
  private constructor(readonly nodes: OwnRedis[]) {}

  static async start(masters: number, replicas = 0): Promise<OwnCluster> {
    const nodes: OwnRedis[] = []
    for (let i = 0; i < masters * (1 + replicas); i++) {
      nodes.push(
        await OwnRedis.start([
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          'nodes.conf',
          '--cluster-node-timeout',
          '1000',
          // The other masters keep serving while one fails over (the README's advice).
          '--cluster-require-full-coverage',
          'no',
          // A replica syncs at once, not after the default 5 s wait for others to join.
          '--repl-diskless-sync-delay',
          '0',
        ]),
      )
    }
    const addresses = nodes.map((node) => `127.0.0.1:${node.port}`)
    await run('redis-cli', [
      '--cluster',
      'create',
      ...addresses,
      '--cluster-replicas',
      String(replicas),
      '--cluster-yes',
    ])
    const cluster = new OwnCluster(nodes)
    await until(() => cluster.healthy())
    await until(() => cluster.replicasInSync())
    return cluster
  }

  get url(): string {
    return this.nodes[0]?.url ?? ''
  }

  /** Every node still running says the cluster is ok. */
  async healthy(except: OwnRedis[] = []): Promise<boolean> {
    const running = this.nodes.filter((node) => !except.includes(node))
    const infos = await Promise.all(
      running.map((node) => command(node.url, 'CLUSTER', 'INFO').catch(() => '')),
    )
    return infos.every((info) => String(info).includes('cluster_state:ok'))
  }

  /** Every replica has its master's data and follows it. */
  async replicasInSync(): Promise<boolean> {
    const infos = await Promise.all(
      this.nodes.map((node) => command(node.url, 'INFO', 'replication')),
    )
    return infos.every(
      (info) =>
        String(info).includes('role:master') || String(info).includes('master_link_status:up'),
    )
  }

  /** The running nodes that are masters now. */
  async masters(except: OwnRedis[] = []): Promise<OwnRedis[]> {
    const running = this.nodes.filter((node) => !except.includes(node))
    const roles = await Promise.all(
      running.map((node) => command(node.url, 'ROLE').catch(() => [''])),
    )
    return running.filter((_, i) => (roles[i] as string[])[0] === 'master')
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.stop()))
  }
}

async function waitForPing(url: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const client = new Redis(url, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    })
    client.on('error', () => {})
    try {
      await client.connect()
      if ((await client.ping()) === 'PONG') return
    } catch {
      if (Date.now() > deadline) throw new Error(`redis at ${url} did not answer`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    } finally {
      client.disconnect()
    }
  }
}
