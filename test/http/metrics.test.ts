import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { NOW, postJson, postRaw, type TestApp, testApp } from '../support/http.js'

let t: TestApp
beforeEach(async () => {
  t = await testApp()
})
afterEach(() => t.app.close())

/**
 * Prometheus text exposition → sample name with labels → value. Fails on a malformed line.
 * Values are Go floats: NaN and Inf in any case, as Prometheus parses them.
 */
function parse(text: string): Map<string, number> {
  const samples = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (-?[0-9.eE+-]+|nan|[+-]?inf)$/i.exec(
      line,
    )
    if (!match) throw new Error(`not Prometheus text: ${line}`)
    samples.set(match[1] as string, Number(match[2]))
  }
  return samples
}

async function scrape() {
  const response = await t.app.inject({ method: 'GET', url: '/metrics' })
  expect(response.statusCode).toBe(200)
  expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/)
  return parse(response.body)
}

describe('GET /metrics', () => {
  it('exposes process and event-loop metrics', async () => {
    const samples = await scrape()
    expect(samples.has('process_cpu_user_seconds_total')).toBe(true)
    expect(samples.has('nodejs_eventloop_lag_seconds')).toBe(true)
  })

  it('moves its counters and gauges by exactly what was posted', async () => {
    const before = await scrape()
    await postJson(t.app, '/transactions', { amount: 1.25, timestamp: NOW })
    await postJson(t.app, '/transactions', { amount: 2, timestamp: NOW - 60_000 })
    await postJson(t.app, '/transactions', { amount: '3', timestamp: NOW })
    await postJson(t.app, '/transactions', { amount: 1e-30, timestamp: NOW })
    await postJson(t.app, '/transactions', { amount: 1, timestamp: NOW + 60_000 })
    await postJson(t.app, '/transactions/batch', [
      { amount: 0.5, timestamp: NOW },
      { amount: 1, timestamp: 0 },
      { nope: true },
    ])
    await postRaw(t.app, '/transactions', '{bad', 'application/json')
    await t.app.inject({ method: 'GET', url: '/nowhere' })
    const after = await scrape()
    const delta = (name: string) => (after.get(name) ?? 0) - (before.get(name) ?? 0)
    expect(delta('txstats_transactions_stored_total')).toBe(2)
    expect(delta('txstats_transactions_discarded_total')).toBe(2)
    expect(delta('txstats_transactions_rejected_total{reason="schema"}')).toBe(2)
    expect(delta('txstats_transactions_rejected_total{reason="invalid_amount"}')).toBe(1)
    expect(delta('txstats_transactions_rejected_total{reason="future_timestamp"}')).toBe(1)
    expect(after.get('txstats_window_count')).toBe(2)
    expect(after.get('txstats_window_sum')).toBe(1.75)
    const posts =
      'http_request_duration_seconds_count{method="POST",route="/transactions",status_code="201"}'
    expect(delta(posts)).toBe(1)
    expect(
      delta(
        'http_request_duration_seconds_count{method="POST",route="/transactions",status_code="400"}',
      ),
    ).toBe(1)
    expect(
      delta(
        'http_request_duration_seconds_count{method="GET",route="(unmatched)",status_code="404"}',
      ),
    ).toBe(1)
  })
})

describe('GET /metrics with DIMENSIONS', () => {
  it('exports the top values of each dimension, the other and the missing, never one series per value', async () => {
    await t.app.close()
    t = await testApp({ env: { DIMENSIONS: 'merchant' } })
    const batch = Array.from({ length: 25 }, (_, i) => ({
      amount: i + 1,
      timestamp: NOW,
      merchant: `m-${i}`,
    }))
    await postJson(t.app, '/transactions/batch', [...batch, { amount: 0.5, timestamp: NOW }])
    const samples = await scrape()
    const values = [...samples.keys()].filter((name) => name.startsWith('txstats_value_sum{'))
    expect(values).toHaveLength(10)
    expect(samples.get('txstats_value_sum{dimension="merchant",value="m-24"}')).toBe(25)
    expect(samples.get('txstats_value_count{dimension="merchant",value="m-15"}')).toBe(1)
    expect(samples.has('txstats_value_sum{dimension="merchant",value="m-14"}')).toBe(false)
    // 1 + … + 15, the values outside the top ten.
    expect(samples.get('txstats_other_sum{dimension="merchant"}')).toBe(120)
    expect(samples.get('txstats_other_count{dimension="merchant"}')).toBe(15)
    expect(samples.get('txstats_missing_sum{dimension="merchant"}')).toBe(0.5)
    expect(samples.get('txstats_window_count')).toBe(26)
    // One breakdown read per dimension and scrape, however many gauges show it.
    let reads = 0
    const breakdown = t.store.breakdown.bind(t.store)
    t.store.breakdown = (query) => {
      reads++
      return breakdown(query)
    }
    await scrape()
    expect(reads).toBe(1)
  })
})
