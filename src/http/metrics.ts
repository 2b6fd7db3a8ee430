import type { FastifyInstance, onResponseHookHandler } from 'fastify'
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client'
import { settle } from '../awaitable.js'
import type { IngestCounts } from '../ingest/nats.js'
import type { Breakdown, RecordOutcome, TransactionStore } from '../store/store.js'
import { type DurationSeries, RequestDurations } from './request-durations.js'
import { windowText } from './window-text.js'

/** Why a transaction was rejected, as the `reason` label says it. */
export type RejectReason = 'schema' | 'invalid_amount' | 'future_timestamp' | 'invalid_timestamp'

const REASONS: Partial<Record<RecordOutcome, RejectReason>> = {
  invalidAmount: 'invalid_amount',
  tooFarInFuture: 'future_timestamp',
  invalidTimestamp: 'invalid_timestamp',
}

/**
 * Values of each dimension exported, at most: the top ones by sum, so that a scraper gets a
 * bounded number of series however many values the window holds (the rest are in `other`).
 */
export const METRICS_TOP_VALUES = 10

/**
 * The Prometheus metrics of one app, in a registry of its own (tests build many apps). Scraping
 * reads the window once, O(1) like any snapshot, and each dimension's top values once.
 */
export class Metrics {
  readonly registry = new Registry()
  readonly #stored: Counter
  readonly #discarded: Counter
  readonly #rejected: Counter<'reason'>
  readonly #replayed: Counter
  readonly requestDurations = new RequestDurations(this.registry)
  readonly #store: TransactionStore
  readonly #dimensions: readonly string[]
  /** Each dimension's breakdown, as the last scrape read it (a concurrent one may read it too). */
  readonly #breakdowns = new Map<string, Readonly<Breakdown>>()

  constructor(
    store: TransactionStore,
    windowMs: number,
    dimensions: readonly string[] = [],
    ingest?: IngestCounts,
  ) {
    const registers = [this.registry]
    if (ingest !== undefined) ingestMetrics(ingest, registers)
    collectDefaultMetrics({ register: this.registry })
    this.#stored = new Counter({
      name: 'txstats_transactions_stored_total',
      help: 'Transactions stored',
      registers,
    })
    this.#discarded = new Counter({
      name: 'txstats_transactions_discarded_total',
      help: `Transactions discarded as ${windowText(windowMs)} old or older (the window)`,
      registers,
    })
    this.#rejected = new Counter({
      name: 'txstats_transactions_rejected_total',
      help: 'Transactions refused, by reason',
      labelNames: ['reason'],
      registers,
    })
    this.#replayed = new Counter({
      name: 'txstats_idempotent_replays_total',
      help: 'Requests answered again from what their Idempotency-Key remembered, not recorded again',
      registers,
    })
    const statistics = () => store.statistics()
    new Gauge({
      name: 'txstats_window_count',
      help: 'Transactions in the window now',
      registers,
      collect() {
        return settle(statistics(), ({ count }) => this.set(count))
      },
    })
    new Gauge({
      name: 'txstats_window_sum',
      help: 'Exact sum of the window now, rounded once',
      registers,
      collect() {
        return settle(statistics(), ({ sum }) => this.set(sum))
      },
    })
    this.#store = store
    this.#dimensions = dimensions
    if (dimensions.length > 0) {
      exportBreakdowns(dimensions, (dimension) => this.#breakdowns.get(dimension), registers)
    }
  }

  /** The exposition: each dimension's breakdown read first, once, for every gauge that shows it. */
  async scrape(): Promise<string> {
    const read = this.#dimensions.map(async (dimension) => {
      const query = { dimension, order: 'sum' as const, limit: METRICS_TOP_VALUES }
      this.#breakdowns.set(dimension, await this.#store.breakdown(query))
    })
    await Promise.all(read)
    return this.registry.metrics()
  }

  /** For requests that match no route, timed where they are answered. */
  observeUnmatched(method: string, statusCode: number, seconds: number): void {
    this.requestDurations.series(method, '(unmatched)', statusCode).observe(seconds)
  }

  /** A request with an Idempotency-Key answered as before: its transactions are not counted again. */
  replayed(): void {
    this.#replayed.inc()
  }

  countOutcomes(outcomes: readonly RecordOutcome[]): void {
    for (const outcome of outcomes) {
      if (outcome === 'stored') this.#stored.inc()
      else if (outcome === 'tooOld') this.#discarded.inc()
      else this.reject(REASONS[outcome] ?? 'schema')
    }
  }

  reject(reason: RejectReason, count = 1): void {
    // A batch without invalid items calls this with 0: skip prom-client's label hashing then.
    if (count > 0) this.#rejected.inc({ reason }, count)
  }
}

/**
 * Per dimension, the count and sum of its top values (labels dimension and value), of the other
 * values and of the transactions without one: the three add up to the window. Series of values
 * that left the top are dropped at the next scrape. Each dimension's breakdown is read once per
 * scrape, before it (see Metrics.scrape), whatever the number of gauges that show it.
 */
function exportBreakdowns(
  dimensions: readonly string[],
  read: (dimension: string) => Readonly<Breakdown> | undefined,
  registers: Registry[],
): void {
  const fields = [
    ['count', 'Transactions in the window now'],
    ['sum', 'Exact sum of the window now, rounded once'],
  ] as const
  for (const [field, help] of fields) {
    new Gauge({
      name: `txstats_value_${field}`,
      help: `${help}, for each of the top ${METRICS_TOP_VALUES} values by sum of a dimension`,
      labelNames: ['dimension', 'value'],
      registers,
      collect() {
        this.reset()
        for (const dimension of dimensions) {
          for (const entry of read(dimension)?.values ?? []) {
            this.set({ dimension, value: entry.value }, entry[field])
          }
        }
      },
    })
    for (const part of ['other', 'missing'] as const) {
      const whose =
        part === 'other'
          ? 'the values of a dimension not in its top'
          : 'those without the dimension'
      new Gauge({
        name: `txstats_${part}_${field}`,
        help: `${help}, of ${whose}`,
        labelNames: ['dimension'],
        registers,
        collect() {
          this.reset()
          for (const dimension of dimensions) {
            const breakdown = read(dimension)
            if (breakdown) this.set({ dimension }, breakdown[part][field])
          }
        },
      })
    }
  }
}

/** What NATS ingest has done, read from its counts at each scrape. */
function ingestMetrics(counts: IngestCounts, registers: Registry[]): void {
  new Counter({
    name: 'txstats_ingest_messages_total',
    help: 'NATS messages handled, by outcome (retried: given back while the store could not serve)',
    labelNames: ['outcome'],
    registers,
    collect() {
      this.reset()
      for (const [outcome, count] of Object.entries(counts.messages)) this.inc({ outcome }, count)
    },
  })
  new Counter({
    name: 'txstats_ingest_transactions_total',
    help: 'Transactions of NATS messages, by outcome (replays not counted again)',
    labelNames: ['outcome'],
    registers,
    collect() {
      this.reset()
      for (const [outcome, count] of Object.entries(counts.transactions)) {
        this.inc({ outcome }, count)
      }
    },
  })
  new Gauge({
    name: 'txstats_ingest_pending_messages',
    help: 'Messages the NATS consumer has yet to deliver (its lag), as JetStream last said',
    registers,
    collect() {
      if (!Number.isNaN(counts.pending)) this.set(counts.pending)
    },
  })
}

/**
 * Times every request into the histogram.
 *
 * Each route gets its own onResponse hook holding its series by status, so a request pays one
 * map lookup and one observation: no label hashing, and no `request.routeOptions`, which builds
 * a new object on every read. Routes registered before this call are not timed; requests that
 * match no route are timed by the not-found handler.
 */
export function registerRequestTiming(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onRoute', (route) => {
    const timer = routeTimer(metrics, [route.method].flat().join(','), route.url)
    route.onResponse = [route.onResponse ?? []].flat().concat(timer)
  })
}

/** The exposition at GET /metrics. */
export function registerMetricsRoute(app: FastifyInstance, metrics: Metrics): void {
  app.get(
    '/metrics',
    {
      schema: {
        summary: 'Prometheus metrics',
        description: `Text exposition format: request durations by route and status, transactions stored, discarded and rejected (by reason), the window count and sum, with DIMENSIONS the count and sum of each dimension's top ${METRICS_TOP_VALUES} values by sum, of the others and of the missing, and process and event-loop metrics.`,
        tags: ['operations'],
        produces: ['text/plain'],
        response: {
          200: {
            description: 'Prometheus text exposition format, version 0.0.4',
            content: { 'text/plain': { schema: { type: 'string' } } },
          },
        },
      },
    },
    async (_request, reply) => {
      reply.type(metrics.registry.contentType)
      return metrics.scrape()
    },
  )
}

function routeTimer(metrics: Metrics, method: string, url: string): onResponseHookHandler {
  const byStatus = new Map<number, DurationSeries>()
  return (_request, reply, done) => {
    let series = byStatus.get(reply.statusCode)
    if (series === undefined) {
      series = metrics.requestDurations.series(method, url, reply.statusCode)
      byStatus.set(reply.statusCode, series)
    }
    series.observe(reply.elapsedTime / 1000)
    done()
  }
}
