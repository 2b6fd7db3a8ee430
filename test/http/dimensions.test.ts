import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { expectProblem, NOW, postJson, statistics, type TestApp, testApp } from '../support/http.js'
import { describeStores, HTTP_STORE_KINDS } from '../support/stores.js'

const get = (t: TestApp, url: string) => t.app.inject({ method: 'GET', url })

describeStores(HTTP_STORE_KINDS, (store) => {
  describe('with DIMENSIONS=currency,merchant', () => {
    let t: TestApp
    beforeEach(async () => {
      t = await testApp({
        store,
        env: { DIMENSIONS: 'currency,merchant', DIMENSION_MAX_VALUES: '2' },
      })
    })
    afterEach(() => t.app.close())

    const post = (body: object) => postJson(t.app, '/transactions', body)

    it('answers per value, zeros for a value never seen, and the window as before', async () => {
      expect((await post({ amount: 0.1, timestamp: NOW, currency: 'EUR' })).statusCode).toBe(201)
      expect((await post({ amount: 0.2, timestamp: NOW - 1, currency: 'EUR' })).statusCode).toBe(
        201,
      )
      expect((await post({ amount: 5, timestamp: NOW, currency: 'USD' })).statusCode).toBe(201)
      expect((await post({ amount: 7, timestamp: NOW })).statusCode).toBe(201)
      const eur = await get(t, '/statistics?currency=EUR')
      expect(eur.statusCode).toBe(200)
      expect(eur.json()).toEqual({
        sum: 0.3,
        avg: 0.15,
        max: 0.2,
        min: 0.1,
        count: 2,
        incomplete: false,
      })
      expect((await get(t, '/statistics?currency=CHF')).json()).toEqual({
        sum: 0,
        avg: 0,
        max: 0,
        min: 0,
        count: 0,
        incomplete: false,
      })
      expect((await get(t, '/statistics?currency=EUR&windowMs=1')).json()).toMatchObject({
        sum: 0.1,
        count: 1,
      })
      expect((await get(t, '/statistics')).body).toBe(
        '{"sum":12.3,"avg":3.075,"max":7,"min":0.1,"count":4}',
      )
    })

    it('breaks the window down: listed + other + missing is the window, ties by value', async () => {
      const batch = [
        { amount: 10, timestamp: NOW, merchant: 'b' },
        { amount: 10, timestamp: NOW, merchant: 'a' },
        { amount: 3, timestamp: NOW, merchant: 'c' },
        { amount: 1.5, timestamp: NOW - 59_999 },
      ]
      expect((await postJson(t.app, '/transactions/batch', batch)).json()).toMatchObject({
        stored: 4,
      })
      const response = await get(t, '/statistics/breakdown?by=merchant&limit=1')
      expect(response.statusCode).toBe(200)
      expect(response.json()).toEqual({
        by: 'merchant',
        order: 'sum',
        values: [{ value: 'a', sum: 10, avg: 10, max: 10, min: 10, count: 1, incomplete: false }],
        // c came when two values were tracked: it is in the overflow, part of other.
        other: { sum: 13, avg: 6.5, max: 10, min: 3, count: 2 },
        missing: { sum: 1.5, avg: 1.5, max: 1.5, min: 1.5, count: 1 },
      })
      expect((await get(t, '/statistics?merchant=c')).json()).toMatchObject({
        count: 0,
        incomplete: true,
      })
      expect(await statistics(t.app)).toMatchObject({ sum: 24.5, count: 4 })
      const byCount = await get(t, '/statistics/breakdown?by=merchant&order=count&limit=1000')
      expect(byCount.json().values.map((v: { value: string }) => v.value)).toEqual(['a', 'b'])
      // When every transaction of a and b has left the window, they are released and c is tracked.
      t.clock.advance(60_000)
      await post({ amount: 4, timestamp: NOW + 60_000, merchant: 'c' })
      expect((await get(t, '/statistics?merchant=c')).json()).toMatchObject({
        sum: 4,
        count: 1,
        incomplete: false,
      })
    })

    it('refuses bad values and queries with 422 naming the field, storing nothing', async () => {
      for (const [body, field] of [
        [{ amount: 1, timestamp: NOW, currency: '' }, 'currency'],
        [{ amount: 1, timestamp: NOW, currency: 'x'.repeat(65) }, 'currency'],
        [{ amount: 1, timestamp: NOW, currency: 'E\u0000R' }, 'currency'],
        [{ amount: 1, timestamp: NOW, merchant: 42 }, 'merchant'],
      ] as const) {
        const problem = expectProblem(await post(body), 422)
        expect(JSON.stringify(problem.errors)).toContain(field)
      }
      const batch = await postJson(t.app, '/transactions/batch', [
        { amount: 1, timestamp: NOW, currency: '\n' },
        { amount: 2, timestamp: NOW, currency: 'ÉUR €' },
      ])
      expect(batch.json()).toMatchObject({ stored: 1, invalid: 1 })
      expect(batch.json().errors[0]).toMatchObject({ index: 0, field: 'currency' })
      expect(await statistics(t.app)).toMatchObject({ count: 1, sum: 2 })
      for (const [url, field] of [
        ['/statistics?currency=EUR&merchant=m', 'merchant'],
        ['/statistics?currency=EUR&quantiles=0.5', 'quantiles'],
        ['/statistics?currency=', 'currency'],
        ['/statistics/breakdown?by=amount', 'by'],
        ['/statistics/breakdown?by=currency&limit=0', 'limit'],
        ['/statistics/breakdown?by=currency&limit=1001', 'limit'],
        ['/statistics/breakdown?by=currency&order=avg', 'order'],
        ['/statistics/breakdown?by=currency&windowMs=60001', 'windowMs'],
      ] as const) {
        const problem = expectProblem(await get(t, url), 422)
        expect(JSON.stringify(problem.errors)).toContain(field)
      }
    })

    it('refuses values that read like another, and counts a value composed or decomposed as one', async () => {
      // Each would show as EUR (or as nothing) on the dashboard beside the real EUR.
      const lookalikes = [
        'EUR\uFE0F', // variation selector
        'E\u034FUR', // combining grapheme joiner
        'EUR\u{E0100}', // variation selector supplement
        '\u3164', // Hangul filler
        '\u2800', // blank braille pattern
        'EUR\u00A0', // no-break space
        '\u3000EUR', // ideographic space
        '   ', // spaces only
        '\u0301'.repeat(64), // marks alone
        '\u0415UR', // Cyrillic Е among Latin letters
      ]
      for (const currency of lookalikes) {
        const problem = expectProblem(await post({ amount: 1, timestamp: NOW, currency }), 422)
        expect(JSON.stringify(problem.errors)).toContain('currency')
        expectProblem(await get(t, `/statistics?currency=${encodeURIComponent(currency)}`), 422)
      }
      expect(await statistics(t.app)).toMatchObject({ count: 0 })
      expect((await post({ amount: 1, timestamp: NOW, currency: 'Caf\u00e9' })).statusCode).toBe(
        201,
      )
      expect((await post({ amount: 2, timestamp: NOW, currency: 'Cafe\u0301' })).statusCode).toBe(
        201,
      )
      const value = await get(t, `/statistics?currency=${encodeURIComponent('Cafe\u0301')}`)
      expect(value.json()).toMatchObject({ count: 2, sum: 3 })
      const breakdown = await get(t, '/statistics/breakdown?by=currency')
      expect(breakdown.json().values).toEqual([
        expect.objectContaining({ value: 'Caf\u00e9', count: 2 }),
      ])
    })
  })

  it('without DIMENSIONS, ignores such fields and has no breakdown route', async () => {
    const t = await testApp({ store })
    try {
      const body = { amount: 1, timestamp: NOW, currency: '' }
      expect((await postJson(t.app, '/transactions', body)).statusCode).toBe(201)
      expect((await get(t, '/statistics/breakdown?by=currency')).statusCode).toBe(404)
      expect((await get(t, '/statistics?currency=EUR')).body).toBe(
        '{"sum":1,"avg":1,"max":1,"min":1,"count":1}',
      )
    } finally {
      await t.app.close()
    }
  })
})
