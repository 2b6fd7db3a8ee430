import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { freePort } from './processes.js'

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

  /** A clean shutdown (SIGTERM): Redis finishes the command it is running, then exits. */
  async stop(): Promise<void> {
    const child = this.#process
    if (!child || child.exitCode !== null) return
    child.kill('SIGCONT') // a paused server would not act on SIGTERM
    child.kill('SIGTERM')
    await once(child, 'exit')
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
