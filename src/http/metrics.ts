import type { FastifyInstance, onResponseHookHandler } from 'fastify'
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client'
import { settle } from '../awaitable.js'
import type { RecordOutcome, TransactionStore } from '../store/store.js'
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
 * The Prometheus metrics of one app, in a registry of its own (tests build many apps). Scraping
 * reads the window once, O(1) like any snapshot.
 */
export class Metrics {
  readonly registry = new Registry()
  readonly #stored: Counter
  readonly #discarded: Counter
  readonly #rejected: Counter<'reason'>
  readonly #replayed: Counter
  readonly requestDurations = new RequestDurations(this.registry)

  constructor(store: TransactionStore, windowMs: number) {
    const registers = [this.registry]
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
        description:
          'Text exposition format: request durations by route and status, transactions stored, discarded and rejected (by reason), the window count and sum, and process and event-loop metrics.',
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
      return metrics.registry.metrics()
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
