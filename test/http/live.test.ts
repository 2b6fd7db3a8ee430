import { get, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { NOW, postJson, type TestApp, testApp } from '../support/http.js'

let t: TestApp | undefined
afterEach(async () => {
  await t?.app.close()
  t = undefined
})

async function listen(env: Record<string, string> = {}) {
  const served = await testApp({ env })
  t = served
  await served.app.listen({ port: 0, host: '127.0.0.1' })
  return {
    app: served.app,
    base: `http://127.0.0.1:${(served.app.server.address() as AddressInfo).port}`,
  }
}

function open(url: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => get(url, resolve).on('error', reject))
}

/** Collects the stream's text until `count` events have arrived. */
function events(response: IncomingMessage, count: number): Promise<string> {
  return new Promise((resolve) => {
    let text = ''
    response.setEncoding('utf8')
    response.on('data', (chunk: string) => {
      text += chunk
      if ((text.match(/^event: /gm) ?? []).length >= count) resolve(text)
    })
  })
}

describe('GET /statistics/stream', () => {
  it('streams SSE frames with the statistics, at the interval asked', async () => {
    const { app, base } = await listen()
    await postJson(app, '/transactions', { amount: 0.1, timestamp: NOW })
    await postJson(app, '/transactions', { amount: 0.2, timestamp: NOW })
    const response = await open(`${base}/statistics/stream?interval=100`)
    expect(response.statusCode).toBe(200)
    expect(response.headers['content-type']).toBe('text/event-stream; charset=utf-8')
    expect(response.headers['cache-control']).toBe('no-store')
    const started = Date.now()
    const text = await events(response, 3)
    expect(Date.now() - started).toBeGreaterThanOrEqual(150) // first at once, then every 100 ms
    response.destroy()
    expect(text.startsWith('retry: 2000\n\n')).toBe(true)
    const frames = text.split('\n\n').filter((f) => f.startsWith('id: '))
    for (const frame of frames.slice(0, 3)) {
      const [id, event, data] = frame.split('\n')
      expect(event).toBe('event: statistics')
      const body = JSON.parse((data ?? '').replace(/^data: /, ''))
      expect(body).toEqual({ sum: 0.3, avg: 0.15, max: 0.2, min: 0.1, count: 2, at: body.at })
      expect(id).toBe(`id: ${body.at}`)
    }
  })

  it('streams the span a subscriber asks with windowMs, beside one that asks the whole window', async () => {
    const { app, base } = await listen()
    await postJson(app, '/transactions', { amount: 1, timestamp: NOW - 2_000 })
    await postJson(app, '/transactions', { amount: 2, timestamp: NOW })
    const [whole, last] = await Promise.all([
      open(`${base}/statistics/stream?interval=100`),
      open(`${base}/statistics/stream?interval=100&windowMs=1000`),
    ])
    const [wholeText, lastText] = await Promise.all([
      events(whole as IncomingMessage, 2),
      events(last as IncomingMessage, 2),
    ])
    whole?.destroy()
    last?.destroy()
    const first = (text: string) => JSON.parse(/^data: (.*)$/m.exec(text)?.[1] ?? '')
    expect(first(wholeText)).toMatchObject({ sum: 3, count: 2 })
    expect(first(lastText)).toMatchObject({ sum: 2, count: 1 })
  })

  it('streams a breakdown with by, and a value with its dimension, when dimensions are configured', async () => {
    const { app, base } = await listen({ DIMENSIONS: 'merchant' })
    await postJson(app, '/transactions/batch', [
      { amount: 3, timestamp: NOW, merchant: 'm-1' },
      { amount: 5, timestamp: NOW, merchant: 'm-2' },
      { amount: 7, timestamp: NOW },
    ])
    const [breakdown, value] = await Promise.all([
      open(`${base}/statistics/stream?interval=100&by=merchant&limit=1`),
      open(`${base}/statistics/stream?interval=100&merchant=m-1`),
    ])
    const [breakdownText, valueText] = await Promise.all([
      events(breakdown as IncomingMessage, 2),
      events(value as IncomingMessage, 2),
    ])
    breakdown?.destroy()
    value?.destroy()
    expect(breakdownText).toMatch(/^event: breakdown$/m)
    const first = (text: string) => JSON.parse(/^data: (.*)$/m.exec(text)?.[1] ?? '')
    expect(first(breakdownText)).toMatchObject({
      by: 'merchant',
      values: [{ value: 'm-2', sum: 5, count: 1, incomplete: false }],
      other: { sum: 3, count: 1 },
      missing: { sum: 7, count: 1 },
    })
    expect(first(valueText)).toMatchObject({ sum: 3, count: 1, incomplete: false })
    for (const query of ['by=merchant&merchant=m-1', 'by=merchant&quantiles=0.5', 'by=other']) {
      const refused = await open(`${base}/statistics/stream?${query}`)
      expect(refused.statusCode).toBe(422)
      refused.destroy()
    }
  })

  it('reads the store once per tick however many subscribe, on a real port', async () => {
    const { base } = await listen()
    const store = t?.store
    if (!store) throw new Error('no store')
    let reads = 0
    const statistics = store.statistics.bind(store)
    store.statistics = () => {
      reads++
      return statistics()
    }
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => open(`${base}/statistics/stream?interval=100`)),
    )
    const streams = responses.map((response) => events(response, 6))
    await Promise.all(responses.map((response) => events(response, 1)))
    reads = 0
    const received = await Promise.all(streams)
    for (const response of responses) response.destroy()
    // Five more ticks for each of 20 subscribers: about five reads, not a hundred.
    for (const text of received)
      expect((text.match(/^event: /gm) ?? []).length).toBeGreaterThanOrEqual(6)
    expect(reads).toBeLessThanOrEqual(8)
  })

  it.each(['99', '60001', 'abc', '-5', '1.5'])(
    'answers 422 problem+json for interval=%s',
    async (interval) => {
      t = await testApp()
      const response = await t.app.inject({
        method: 'GET',
        url: `/statistics/stream?interval=${interval}`,
      })
      expect(response.statusCode).toBe(422)
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/)
      expect(response.json().errors[0].field).toBe('interval')
    },
  )

  it('answers 503 with Retry-After beyond the cap on subscribers', async () => {
    const { base } = await listen({ STREAM_MAX_SUBSCRIBERS: '1' })
    const first = await open(`${base}/statistics/stream`)
    const second = await open(`${base}/statistics/stream`)
    expect(first.statusCode).toBe(200)
    expect(second.statusCode).toBe(503)
    expect(second.headers['retry-after']).toBe('5')
    expect(second.headers['content-type']).toMatch(/^application\/problem\+json/)
    first.destroy()
    second.destroy()
  })

  it('answers HEAD at once with the headers of a stream, taking no place', async () => {
    const { base } = await listen({ STREAM_MAX_SUBSCRIBERS: '1' })
    for (let i = 0; i < 3; i++) {
      const head = await fetch(`${base}/statistics/stream`, { method: 'HEAD' })
      expect(head.status).toBe(200)
      expect(head.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
    }
    const stream = await open(`${base}/statistics/stream`)
    expect(stream.statusCode).toBe(200)
    stream.destroy()
  })

  it('answers 429 beyond the streams one address may hold', async () => {
    const { base } = await listen({ STREAM_MAX_PER_ADDRESS: '2' })
    const streams = [
      await open(`${base}/statistics/stream`),
      await open(`${base}/statistics/stream`),
    ]
    const third = await open(`${base}/statistics/stream`)
    expect(streams.map((stream) => stream.statusCode)).toEqual([200, 200])
    expect(third.statusCode).toBe(429)
    expect(third.headers['content-type']).toMatch(/^application\/problem\+json/)
    for (const stream of [...streams, third]) stream.destroy()
  })

  it('ends every stream when the service shuts down', async () => {
    const { app, base } = await listen()
    const response = await open(`${base}/statistics/stream`)
    await events(response, 1)
    const ended = new Promise((resolve) => response.on('end', resolve))
    await app.close()
    t = undefined
    await expect(ended).resolves.toBeUndefined()
  })
})

describe('GET /statistics/series', () => {
  it('gives the window per second, exactly', async () => {
    t = await testApp({ env: { WINDOW_MS: '3000' } })
    await postJson(t.app, '/transactions', { amount: 0.1, timestamp: NOW - 2_500 })
    await postJson(t.app, '/transactions', { amount: 0.2, timestamp: NOW - 2_400 })
    await postJson(t.app, '/transactions', { amount: 5, timestamp: NOW })
    const response = await t.app.inject({ method: 'GET', url: '/statistics/series' })
    expect(response.statusCode).toBe(200)
    const s = NOW / 1000
    expect(response.json()).toEqual({
      at: NOW,
      windowMs: 3000,
      points: [
        { second: s - 3, count: 2, sum: 0.3, min: 0.1, max: 0.2 },
        { second: s - 2, count: 0, sum: 0, min: 0, max: 0 },
        { second: s - 1, count: 0, sum: 0, min: 0, max: 0 },
        { second: s, count: 1, sum: 5, min: 5, max: 5 },
      ],
    })
  })
})
