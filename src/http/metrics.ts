import type { FastifyInstance, onResponseHookHandler } from 'fastify'
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import { type RecordOutcome, settle, type TransactionStore } from '../store/store.js'

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
  readonly requestDuration: Histogram<'method' | 'route' | 'status_code'>

  constructor(store: TransactionStore) {
    const registers = [this.registry]
    collectDefaultMetrics({ register: this.registry })
    this.requestDuration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Time to answer a request, by route and status',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    })
    this.#stored = new Counter({
      name: 'txstats_transactions_stored_total',
      help: 'Transactions stored',
      registers,
    })
    this.#discarded = new Counter({
      name: 'txstats_transactions_discarded_total',
      help: 'Transactions discarded as 60 s old or older',
      registers,
    })
    this.#rejected = new Counter({
      name: 'txstats_transactions_rejected_total',
      help: 'Transactions refused, by reason',
      labelNames: ['reason'],
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
    this.requestDuration.observe({ method, route: '(unmatched)', status_code: statusCode }, seconds)
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
 * Each route gets its own onResponse hook with its labels bound once per status, so a request
 * pays one observation: no label hashing, and no `request.routeOptions`, which builds a new
 * object on every read. Routes registered before this call are not timed; requests that match no
 * route are timed by the not-found handler.
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
  const byStatus = new Map<number, { observe(seconds: number): void }>()
  return (_request, reply, done) => {
    let child = byStatus.get(reply.statusCode)
    if (child === undefined) {
      child = metrics.requestDuration.labels(method, url, String(reply.statusCode))
      byStatus.set(reply.statusCode, child)
    }
    child.observe(reply.elapsedTime / 1000)
    done()
  }
}
