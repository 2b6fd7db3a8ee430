import {
  AckPolicy,
  type ConsumerMessages,
  type JsMsg,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream'
import { connect, type NatsConnection, nanos } from '@nats-io/transport-node'
import type { FastifyBaseLogger } from 'fastify'
import type { IngestOutcome, Submit } from './submit.js'

export interface NatsIngestOptions {
  url: string
  /** The stream to read; made with `subjects` when it does not exist. */
  stream: string
  subjects: readonly string[]
  /** The durable pull consumer's name: instances that share it share the messages. */
  durable: string
  /** Messages asked for per pull, at most (see design.md, "Ingest from NATS"). */
  batch: number
  /** Where invalid messages are republished, as they were; '' for nowhere. */
  deadLetterSubject: string
}

/** How long a pull waits for messages before it asks again, in ms. */
const PULL_EXPIRES_MS = 1_000
/** How long to wait before retrying while the store cannot serve, in ms. */
const RETRY_MS = 1_000
/** Messages handled at once, at most. */
const IN_FLIGHT = 8
/** How often the consumer's lag is asked for /metrics, in ms. */
const LAG_EVERY_MS = 1_000
/** How long a delivered message may go unacknowledged before JetStream delivers it again. */
const ACK_WAIT_MS = 10_000

/** What ingest has done, for /metrics. */
export class IngestCounts {
  readonly messages: Record<IngestOutcome | 'retried', number> = {
    stored: 0,
    replayed: 0,
    tooOld: 0,
    invalid: 0,
    retried: 0,
  }
  readonly transactions: Record<'stored' | 'tooOld' | 'invalid', number> = {
    stored: 0,
    tooOld: 0,
    invalid: 0,
  }
  /** Messages the consumer has yet to deliver, as JetStream last said; NaN before it has. */
  pending = Number.NaN
}

/**
 * A durable pull consumer on a JetStream stream: each message holds the JSON of POST
 * /transactions or of a batch, and is submitted as that request with an Idempotency-Key made of
 * the stream's name and the message's sequence, so a message delivered again (a crash between
 * the store and the ack, a lost ack, another instance on the same consumer) is replayed, never
 * counted twice. A message is acknowledged only once the store has its transactions; an invalid
 * one is terminated (and republished to the dead-letter subject), never delivered again; while
 * the store cannot serve, messages are given back to be delivered again later and pulling pauses.
 */
export class NatsIngest {
  readonly counts = new IngestCounts()
  readonly #options: NatsIngestOptions
  #connection: NatsConnection | undefined
  #running = false
  /** Whether the connection is up: false from a disconnect until it reconnects. */
  #up = false
  #loop: Promise<void> | undefined
  #messages: ConsumerMessages | undefined

  constructor(options: NatsIngestOptions) {
    this.#options = options
  }

  /** Whether the consumer is connected to NATS now: /ready says so. */
  get connected(): boolean {
    return this.#up && this.#running
  }

  /** Connects, makes the stream and consumer if missing, and starts pulling into `submit`. */
  async start(submit: Submit, log: FastifyBaseLogger): Promise<void> {
    const { url, stream, subjects, durable } = this.#options
    this.#connection = await connect({
      servers: url,
      name: `txstats ${durable}`,
      reconnect: true,
      maxReconnectAttempts: -1,
    })
    this.#up = true
    this.#watch(this.#connection, log)
    const manager = await jetstreamManager(this.#connection)
    try {
      await manager.streams.info(stream)
    } catch {
      await manager.streams.add({ name: stream, subjects: [...subjects] })
    }
    try {
      await manager.consumers.info(stream, durable)
    } catch {
      await manager.consumers.add(stream, {
        durable_name: durable,
        ack_policy: AckPolicy.Explicit,
        ack_wait: nanos(ACK_WAIT_MS),
        max_deliver: -1,
      })
    }
    this.#running = true
    log.info({ stream, durable }, 'ingesting from NATS JetStream')
    this.#loop = this.#pull(submit, log)
  }

  /** Follows the connection's status, and says when it is lost and found again. */
  async #watch(connection: NatsConnection, log: FastifyBaseLogger): Promise<void> {
    for await (const status of connection.status()) {
      if (status.type === 'disconnect' && this.#up) {
        this.#up = false
        log.warn('NATS ingest: disconnected; reconnecting')
      } else if (status.type === 'reconnect' && !this.#up) {
        this.#up = true
        log.warn('NATS ingest: reconnected')
      }
    }
    this.#up = false
  }

  /** Stops pulling once the messages in hand are done (nothing is half-done), then disconnects. */
  async stop(): Promise<void> {
    this.#running = false
    await this.#messages?.close()
    await this.#loop
    await this.#connection?.drain().catch(() => {})
    this.#connection = undefined
  }

  async #pull(submit: Submit, log: FastifyBaseLogger): Promise<void> {
    const { stream, durable, batch } = this.#options
    const connection = this.#connection as NatsConnection
    const consumer = await jetstream(connection).consumers.get(stream, durable)
    const lag = setInterval(() => {
      consumer.info(true).then(
        (info) => {
          this.counts.pending = info.num_pending
        },
        () => {},
      )
    }, LAG_EVERY_MS)
    try {
      while (this.#running) {
        try {
          // The client keeps up to `batch` messages pulled ahead, refilling as they are handled.
          const messages = await consumer.consume({ max_messages: batch, expires: PULL_EXPIRES_MS })
          this.#messages = messages
          await this.#handleAll(messages, submit)
        } catch (error) {
          if (!this.#running) break
          log.warn({ err: error }, 'NATS ingest: pulling failed; retrying')
          await sleep(RETRY_MS)
        }
      }
    } finally {
      clearInterval(lag)
    }
  }

  /**
   * Handles messages as they come, IN_FLIGHT at most at once (as that many HTTP clients would
   * send): their order does not matter to the window. Once the store could not serve, the
   * messages that follow are given back at once for RETRY_MS.
   */
  async #handleAll(messages: ConsumerMessages, submit: Submit): Promise<void> {
    const inFlight = new Set<Promise<void>>()
    let pausedUntil = 0
    for await (const message of messages) {
      if (!this.#running || Date.now() < pausedUntil) {
        message.nak(RETRY_MS)
        if (!this.#running) break
        continue
      }
      const handled: Promise<void> = this.#handle(message, submit).then((served) => {
        if (!served) pausedUntil = Date.now() + RETRY_MS
        inFlight.delete(handled)
      })
      inFlight.add(handled)
      if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight)
    }
    await Promise.all(inFlight)
  }

  /** One message: submitted, then acknowledged as its outcome says. False: the store could not serve. */
  async #handle(message: JsMsg, submit: Submit): Promise<boolean> {
    const key = `nats:${this.#options.stream}:${message.seq}`
    const result = await submit(message.data, key)
    const { counts } = this
    if (result.outcome === 'retry') {
      counts.messages.retried++
      message.nak(RETRY_MS)
      return false
    }
    counts.messages[result.outcome]++
    counts.transactions.stored += result.stored
    counts.transactions.tooOld += result.tooOld
    counts.transactions.invalid += result.invalid
    // A message with invalid transactions goes to the dead-letter subject as it was; one with
    // none that the store took is terminated (delivered again, it would be refused again).
    const deadLetter = this.#options.deadLetterSubject
    if (result.invalid > 0 && deadLetter !== '') {
      this.#connection?.publish(deadLetter, message.data)
    }
    // term() without a reason: servers before 2.10 leave a reasoned term unacknowledged.
    if (result.outcome === 'invalid') message.term()
    else message.ack()
    return true
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
