import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'
import { expectProblem, NOW, postJson, statistics, type TestApp, testApp } from '../support/http.js'
import { describeStores, HTTP_STORE_KINDS, prefixOf, REDIS_URL } from '../support/stores.js'

const redis = new Redis(REDIS_URL)
afterAll(() => redis.disconnect())
/** The quantile sketches' keys under a prefix: q… right after the window's generation. */
const sketchKeys = async (prefix: string) =>
  (await redis.keys(`${prefix}*`)).filter((key) => /\}:\d+:q/.test(key))

describeStores(HTTP_STORE_KINDS, (store) => {
  let t: TestApp
  beforeEach(async () => {
    t = await testApp({ store })
  })
  afterEach(() => t.app.close())

  describe('GET /statistics', () => {
    it('answers exactly the five fields, all zero when the window is empty', async () => {
      const response = await t.app.inject({ method: 'GET', url: '/statistics' })
      expect(response.statusCode).toBe(200)
      expect(response.headers['content-type']).toMatch(/^application\/json/)
      expect(response.body).toBe('{"sum":0,"avg":0,"max":0,"min":0,"count":0}')
    })

    it('reports exact decimal sums and the window at the instant of the request', async () => {
      await postJson(t.app, '/transactions', { amount: 0.1, timestamp: NOW - 30_000 })
      await postJson(t.app, '/transactions', { amount: 0.2, timestamp: NOW })
      expect(await statistics(t.app)).toEqual({ sum: 0.3, avg: 0.15, max: 0.2, min: 0.1, count: 2 })
      t.clock.advance(30_000)
      expect(await statistics(t.app)).toEqual({ sum: 0.2, avg: 0.2, max: 0.2, min: 0.2, count: 1 })
    })
  })

  describe('GET /statistics?windowMs=N', () => {
    const get = (query: string) => t.app.inject({ method: 'GET', url: `/statistics?${query}` })

    it('answers for the last N ms, exact to the millisecond at both edges', async () => {
      for (const [amount, age] of [
        [1, 0],
        [2, 9_999],
        [4, 10_000],
        [8, 59_999],
      ] as const) {
        await postJson(t.app, '/transactions', { amount, timestamp: NOW - age })
      }
      await postJson(t.app, '/transactions', { amount: 16, timestamp: NOW + 1 }) // not yet
      expect((await get('windowMs=10000')).json()).toEqual({
        sum: 3,
        avg: 1.5,
        max: 2,
        min: 1,
        count: 2,
      })
      expect((await get('windowMs=10001')).json()).toMatchObject({ sum: 7, count: 3 })
      expect((await get('windowMs=1')).json()).toMatchObject({ sum: 1, count: 1 })
      expect((await get('windowMs=60000')).json()).toEqual(await statistics(t.app))
      t.clock.advance(1)
      expect((await get('windowMs=1')).json()).toMatchObject({ sum: 16, count: 1 })
    })

    it('answers zeros for a span with no transactions', async () => {
      await postJson(t.app, '/transactions', { amount: 5, timestamp: NOW - 5_000 })
      expect((await get('windowMs=5000')).json()).toEqual({
        sum: 0,
        avg: 0,
        max: 0,
        min: 0,
        count: 0,
      })
    })

    it('refuses a span outside 1 ms to the configured window with 422 naming windowMs', async () => {
      for (const value of ['0', '60001', '999999999', '-5', '1.5', 'abc', '', '1e3']) {
        const body = expectProblem(await get(`windowMs=${value}`), 422)
        expect(body.errors).toEqual([{ field: 'windowMs', message: expect.any(String) }])
      }
    })

    it('cuts the series and the stream to the same span', async () => {
      await postJson(t.app, '/transactions', { amount: 1, timestamp: NOW - 1_500 })
      await postJson(t.app, '/transactions', { amount: 2, timestamp: NOW - 500 })
      const series = await t.app.inject({ method: 'GET', url: '/statistics/series?windowMs=1000' })
      expect(series.json()).toMatchObject({ windowMs: 1000, at: NOW })
      const points = series.json().points as Array<{ count: number; sum: number }>
      expect(points.reduce((n, p) => n + p.count, 0)).toBe(1)
      expect(points.reduce((n, p) => n + p.sum, 0)).toBe(2)
      expectProblem(
        await t.app.inject({ method: 'GET', url: '/statistics/series?windowMs=60001' }),
        422,
      )
      expectProblem(
        await t.app.inject({ method: 'GET', url: '/statistics/stream?windowMs=0' }),
        422,
      )
    })
  })

  describe('GET /statistics?quantiles=…', () => {
    const get = (query: string) => t.app.inject({ method: 'GET', url: `/statistics?${query}` })

    it('adds the quantiles asked, within 1 % of the sorted window, and the exact min and max', async () => {
      const amounts = Array.from({ length: 1_000 }, (_, i) => (i + 1) / 4) // 0.25 … 250
      await postJson(
        t.app,
        '/transactions/batch',
        amounts.map((amount, i) => ({ amount, timestamp: NOW - (i % 50_000) })),
      )
      const body = (await get('quantiles=0,0.5,0.9,0.99,1')).json()
      expect(Object.keys(body)).toEqual([
        'sum',
        'avg',
        'max',
        'min',
        'count',
        'quantiles',
        'quantileEdgeMs',
      ])
      expect(body).toMatchObject({ count: 1_000, min: 0.25, max: 250, quantileEdgeMs: 1 })
      expect(Object.keys(body.quantiles).sort()).toEqual(['0', '0.5', '0.9', '0.99', '1'])
      expect(body.quantiles['0']).toBe(0.25)
      expect(body.quantiles['1']).toBe(250)
      for (const [q, truth] of [
        ['0.5', amounts[499]],
        ['0.9', amounts[899]],
        ['0.99', amounts[989]],
      ] as const) {
        expect(Math.abs(body.quantiles[q] - (truth as number))).toBeLessThanOrEqual(
          (truth as number) * 0.01,
        )
      }
    })

    it('answers 0 for every quantile of an empty window, with the five zeros', async () => {
      expect((await get('quantiles=0.5,0.99')).json()).toEqual({
        sum: 0,
        avg: 0,
        max: 0,
        min: 0,
        count: 0,
        quantiles: { '0.5': 0, '0.99': 0 },
        quantileEdgeMs: 1,
      })
    })

    it('takes windowMs with quantiles: the quantiles of the same last N ms', async () => {
      await postJson(t.app, '/transactions', { amount: 1_000, timestamp: NOW - 5_000 })
      await postJson(t.app, '/transactions', { amount: 10, timestamp: NOW - 4_999 })
      expect((await get('windowMs=5000&quantiles=1')).json()).toMatchObject({
        count: 1,
        quantiles: { '1': 10 },
      })
    })

    it('refuses anything but 1 to 16 decimals from 0 to 1 with 422 naming quantiles', async () => {
      const seventeen = Array.from({ length: 17 }, () => '0.5').join(',')
      for (const value of ['', '1.5', '-0.1', 'abc', '0.5,,0.9', '1e-1', 'NaN', seventeen]) {
        const body = expectProblem(await get(`quantiles=${value}`), 422)
        expect(body.errors).toEqual([{ field: 'quantiles', message: expect.any(String) }])
      }
    })

    it('answers the original five fields when no quantile is asked', async () => {
      expect(Object.keys((await get('windowMs=1000')).json())).toEqual([
        'sum',
        'avg',
        'max',
        'min',
        'count',
      ])
    })
  })

  describe('with QUANTILES=false', () => {
    it('keeps no sketch, answers the five numbers, and refuses quantiles with 422', async () => {
      const off = await testApp({ store, env: { QUANTILES: 'false' } })
      try {
        await postJson(off.app, '/transactions', { amount: 5, timestamp: NOW })
        const five = await off.app.inject({ method: 'GET', url: '/statistics?windowMs=1000' })
        expect(five.json()).toEqual({ sum: 5, avg: 5, max: 5, min: 5, count: 1 })
        const body = expectProblem(
          await off.app.inject({ method: 'GET', url: '/statistics?quantiles=0.5' }),
          422,
        )
        expect(body.errors).toEqual([{ field: 'quantiles', message: expect.any(String) }])
        const prefix = prefixOf(off.store)
        if (prefix) expect(await sketchKeys(prefix)).toEqual([])
      } finally {
        await off.app.close()
      }
    })
  })
})
