import type { Metric, MetricValueWithName, Registry } from 'prom-client'

type Label = 'method' | 'route' | 'status_code'
type Sample = MetricValueWithName<Label | 'le'>

const NAME = 'http_request_duration_seconds'
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1] as const

/** The observations of one method, route and status. */
export class DurationSeries {
  /** Per bucket, not cumulative; the last slot counts those above the top bound. */
  readonly #counts = new Float64Array(BUCKETS.length + 1)
  #sum = 0

  constructor(readonly labels: Readonly<Record<Label, string>>) {}

  observe(seconds: number): void {
    let bucket = 0
    while (bucket < BUCKETS.length && seconds > (BUCKETS[bucket] as number)) bucket++
    this.#counts[bucket] = (this.#counts[bucket] as number) + 1
    this.#sum += seconds
  }

  /** The exposition's samples: cumulative buckets up to +Inf, then the sum and the count. */
  samples(): Sample[] {
    const samples: Sample[] = []
    let cumulative = 0
    for (let bucket = 0; bucket <= BUCKETS.length; bucket++) {
      cumulative += this.#counts[bucket] as number
      const le = BUCKETS[bucket] ?? '+Inf'
      samples.push({
        metricName: `${NAME}_bucket`,
        labels: { le, ...this.labels },
        value: cumulative,
      })
    }
    samples.push({ metricName: `${NAME}_sum`, labels: { ...this.labels }, value: this.#sum })
    samples.push({ metricName: `${NAME}_count`, labels: { ...this.labels }, value: cumulative })
    return samples
  }
}

/**
 * `http_request_duration_seconds`, a Prometheus histogram by method, route and status, counted
 * in a few array slots per series.
 *
 * prom-client's Histogram validates and hashes the labels of every observation, even through a
 * child bound by labels(): that cost about 8 % of the requests/s of POST /transactions and GET
 * /statistics (bench:http, design.md). A route holds its series and observes into it directly;
 * the samples are built only when the registry is scraped, in the shape prom-client's own
 * histograms give it, so the exposition is the same.
 */
export class RequestDurations {
  readonly name = NAME
  readonly help = 'Time to answer a request, by route and status'
  readonly type = 'histogram'
  readonly aggregator = 'sum' // as prom-client's own histograms, if a cluster registry merges them
  readonly #series = new Map<string, DurationSeries>()

  constructor(registry: Registry) {
    // The registry types its metrics as prom-client's four classes, but reads only name, get()
    // and reset(), which this class has.
    registry.registerMetric(this as unknown as Metric)
  }

  /** The series of one method, route and status, made on first use. */
  series(method: string, route: string, statusCode: number): DurationSeries {
    const key = `${method} ${route} ${statusCode}`
    let series = this.#series.get(key)
    if (series === undefined) {
      series = new DurationSeries({ method, route, status_code: String(statusCode) })
      this.#series.set(key, series)
    }
    return series
  }

  // prom-client's own type for this object says `type` is a number enum; the registry prints it.
  async get() {
    const { name, help, type, aggregator } = this
    const values = [...this.#series.values()].flatMap((series) => series.samples())
    return { name, help, type, aggregator, values }
  }

  reset(): void {
    this.#series.clear()
  }
}
