import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { freePort } from './processes.js'

/** The machine's NATS (with JetStream), which scripts/setup.sh starts; NATS_URL to use another. */
export const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222'

let streams = 0

/** A stream name and subject root of a test's own, so tests never share messages. */
export function ownStream(): { stream: string; subjects: string; subject: string } {
  const name = `T${process.pid}_${Date.now()}_${++streams}`
  return { stream: name, subjects: `${name}.>`, subject: `${name}.in` }
}

/** Publishes messages (their JSON, or text as it is), each with its Nats-Msg-Id when given. */
export async function publish(
  url: string,
  subject: string,
  messages: ReadonlyArray<{ data: unknown; id?: string }>,
): Promise<void> {
  const connection = await connect({ servers: url })
  try {
    const js = jetstream(connection)
    for (const { data, id } of messages) {
      const text = typeof data === 'string' ? data : JSON.stringify(data)
      await js.publish(subject, text, id === undefined ? {} : { msgID: id })
    }
  } finally {
    await connection.close()
  }
}

/** What a durable consumer says of itself: yet to deliver, delivered and not acked, redelivered. */
export async function consumerState(url: string, stream: string, durable: string) {
  const connection: NatsConnection = await connect({ servers: url })
  try {
    const info = await (await jetstreamManager(connection)).consumers.info(stream, durable)
    return {
      pending: info.num_pending,
      unacknowledged: info.num_ack_pending,
      redelivered: info.num_redelivered,
    }
  } finally {
    await connection.close()
  }
}

/** Deletes a test's stream. */
export async function removeStream(url: string, stream: string): Promise<void> {
  const connection = await connect({ servers: url })
  try {
    await (await jetstreamManager(connection)).streams.delete(stream).catch(() => false)
  } finally {
    await connection.close()
  }
}

/** A nats-server of a test's own (JetStream on, its store in a temporary folder), to restart. */
export class NatsServer {
  readonly dir = mkdtempSync(join(tmpdir(), 'txstats-nats-'))
  #child: ChildProcess | undefined

  private constructor(readonly port: number) {}

  static async start(): Promise<NatsServer> {
    const server = new NatsServer(await freePort())
    await server.restart()
    return server
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`
  }

  async restart(): Promise<void> {
    const args = ['-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', this.dir]
    this.#child = spawn('nats-server', args, { stdio: 'ignore' })
    for (let i = 0; i < 100; i++) {
      try {
        await (await connect({ servers: this.url, reconnect: false })).close()
        return
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    }
    throw new Error('nats-server did not start')
  }

  /** Stops it for good and deletes its store. */
  async remove(): Promise<void> {
    await this.stop()
    rmSync(this.dir, { recursive: true, force: true })
  }

  async stop(): Promise<void> {
    const child = this.#child
    if (child === undefined || child.exitCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGTERM')
    await exited
  }
}
