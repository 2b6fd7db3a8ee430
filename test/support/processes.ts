import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'

/** A port nobody listens on, for now. */
export async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  server.close()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

export interface ServiceOptions {
  /** Shifts the process's clock by this much: a machine whose clock is wrong. */
  clockOffsetMs?: number
  /** Its own process group, so a test can signal the group as a terminal does. */
  detached?: boolean
}

/** The service as a process of its own, started from the sources, and what it prints. */
export class ServiceProcess {
  readonly child: ChildProcess
  /** What it wrote to stdout (its log) and to stderr, so far. */
  stdout = ''
  stderr = ''
  readonly #waiters: Array<() => void> = []
  readonly #closed: Promise<number | null>

  constructor(env: Record<string, string>, options: ServiceOptions = {}) {
    const preload = ['--import', 'tsx', '--import', './test/support/clock-offset.ts']
    this.child = spawn(process.execPath, [...preload, 'src/server.ts'], {
      env: {
        ...process.env,
        HOST: '127.0.0.1',
        PORT: '0',
        LOG_LEVEL: 'info',
        TEST_CLOCK_OFFSET_MS: String(options.clockOffsetMs ?? 0),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: options.detached ?? false,
    })
    // 'close', not 'exit': all the output has been read by then.
    this.#closed = once(this.child, 'close').then(([code]) => code as number | null)
    this.child.stdout?.on('data', (chunk: Buffer) => {
      this.stdout += String(chunk)
      for (const check of [...this.#waiters]) check()
    })
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr += String(chunk)
    })
  }

  /** Resolves with the port once `processes` of it log that they listen; rejects if it exits. */
  listening(processes = 1): Promise<number> {
    return this.#waitFor(() => {
      const matches = [...this.stdout.matchAll(/listening at http:\/\/127\.0\.0\.1:(\d+)/g)]
      return matches.length >= processes ? Number(matches[0]?.[1]) : undefined
    })
  }

  /** Resolves once its log holds `text`; rejects if it exits first. */
  printed(text: string): Promise<void> {
    return this.#waitFor(() => (this.stdout.includes(text) ? true : undefined)).then(() => {})
  }

  /** The log's JSON lines that hold `text`. */
  lines(text: string): Array<Record<string, unknown>> {
    return this.stdout
      .split('\n')
      .filter((line) => line.includes(text))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
  }

  /** Its exit code, once it has exited and all its output has been read. */
  exited(): Promise<number | null> {
    return this.#closed
  }

  /** SIGTERM (or another signal) to the process, or to its whole group as a supervisor may. */
  stop(signal: NodeJS.Signals = 'SIGTERM', group = false): Promise<number | null> {
    if (group) process.kill(-(this.child.pid as number), signal)
    else this.child.kill(signal)
    return this.exited()
  }

  #waitFor<T>(found: () => T | undefined): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const check = () => {
        const value = found()
        if (value === undefined) return
        this.#waiters.splice(this.#waiters.indexOf(check), 1)
        resolve(value)
      }
      this.#waiters.push(check)
      this.child.once('exit', (code) => reject(new Error(`exited with ${code}: ${this.stderr}`)))
      check()
    })
  }
}
