import fc from 'fast-check'
import { Histogram, type MetricValueWithName, Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { RequestDurations } from '../../src/http/request-durations.js'

const BOUNDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1]

const observation = fc.record({
  method: fc.constantFrom('GET', 'POST'),
  route: fc.constantFrom('/statistics', '/transactions', '(unmatched)'),
  status: fc.constantFrom(200, 201, 404, 422),
  // Exactly on a bound, near one, or anywhere, including past the top bound.
  seconds: fc.oneof(fc.constantFrom(0, ...BOUNDS), fc.double({ min: 0, max: 3, noNaN: true })),
})

/** prom-client's own Histogram, the oracle: what the exposition must be. */
function oracle() {
  const registry = new Registry()
  const histogram = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time to answer a request, by route and status',
    labelNames: ['method', 'route', 'status_code'],
    buckets: BOUNDS,
    registers: [registry],
  })
  return { registry, histogram }
}

/** The JSON samples, without prom-client's exemplar slot (null: this service keeps none). */
async function samples(registry: Registry) {
  const [metric] = await registry.getMetricsAsJSON()
  // A histogram's samples carry their metric name; prom-client's JSON type does not say so.
  const values = (metric?.values ?? []) as MetricValueWithName<string>[]
  return values.map(({ metricName, labels, value }) => ({ metricName, labels, value }))
}

describe('request durations', () => {
  it('expose exactly what prom-client’s own histogram exposes for the same observations', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(observation, { maxLength: 200 }), async (observations) => {
        const expected = oracle()
        const registry = new Registry()
        const durations = new RequestDurations(registry)
        for (const { method, route, status, seconds } of observations) {
          expected.histogram.observe({ method, route, status_code: String(status) }, seconds)
          durations.series(method, route, status).observe(seconds)
        }
        expect(await registry.metrics()).toBe(await expected.registry.metrics())
        expect(await samples(registry)).toEqual(await samples(expected.registry))
      }),
    )
  })

  it('are emptied by the registry’s reset', async () => {
    const registry = new Registry()
    const durations = new RequestDurations(registry)
    durations.series('GET', '/statistics', 200).observe(0.001)
    registry.resetMetrics()
    const [metric] = await registry.getMetricsAsJSON()
    expect(metric?.values).toEqual([])
  })
})
