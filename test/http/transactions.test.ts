import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  expectProblem,
  NOW,
  postJson,
  postRaw,
  statistics,
  type TestApp,
  testApp,
} from '../support/http.js'
import { describeStores, HTTP_STORE_KINDS } from '../support/stores.js'

describeStores(HTTP_STORE_KINDS, (store) => {
  let t: TestApp
  beforeEach(async () => {
    t = await testApp({ store })
  })
  afterEach(() => t.app.close())

  const EMPTY = { sum: 0, avg: 0, max: 0, min: 0, count: 0 }

  describe('POST /transactions', () => {
    it('answers 201 with an empty body and counts the transaction', async () => {
      const response = await postJson(t.app, '/transactions', {
        amount: 12.3,
        timestamp: NOW - 1000,
      })
      expect(response.statusCode).toBe(201)
      expect(response.body).toBe('')
      expect(await statistics(t.app)).toEqual({
        sum: 12.3,
        avg: 12.3,
        max: 12.3,
        min: 12.3,
        count: 1,
      })
    })

    it('stores late arrivals inside the window', async () => {
      expect(
        (await postJson(t.app, '/transactions', { amount: 1, timestamp: NOW - 59_999 })).statusCode,
      ).toBe(201)
    })

    it('answers 204 with an empty body for a timestamp 60 s old or older, and stores nothing', async () => {
      for (const timestamp of [NOW - 60_000, NOW - 3_600_000, 0]) {
        const response = await postJson(t.app, '/transactions', { amount: 1, timestamp })
        expect(response.statusCode).toBe(204)
        expect(response.body).toBe('')
      }
      expect(await statistics(t.app)).toEqual(EMPTY)
    })

    it('ignores unknown extra fields', async () => {
      const response = await postJson(t.app, '/transactions', {
        amount: 2,
        timestamp: NOW,
        currency: 'EUR',
      })
      expect(response.statusCode).toBe(201)
      expect((await statistics(t.app)).sum).toBe(2)
    })

    it('accepts a future timestamp within the clock-skew allowance', async () => {
      expect(
        (await postJson(t.app, '/transactions', { amount: 1, timestamp: NOW + 2_000 })).statusCode,
      ).toBe(201)
      expect((await statistics(t.app)).count).toBe(0)
      t.clock.advance(2_000)
      expect((await statistics(t.app)).count).toBe(1)
    })

    const invalid: Array<[string, string, string]> = [
      ['amount missing', `{"timestamp":${NOW}}`, 'amount'],
      ['timestamp missing', '{"amount":1}', 'timestamp'],
      ['amount as a string', `{"amount":"12.3","timestamp":${NOW}}`, 'amount'],
      ['amount true', `{"amount":true,"timestamp":${NOW}}`, 'amount'],
      ['amount null', `{"amount":null,"timestamp":${NOW}}`, 'amount'],
      ['amount an object', `{"amount":{"value":1},"timestamp":${NOW}}`, 'amount'],
      ['amount 1e400 (Infinity)', `{"amount":1e400,"timestamp":${NOW}}`, 'amount'],
      ['amount beyond the magnitude', `{"amount":1e22,"timestamp":${NOW}}`, 'amount'],
      ['amount with too many decimals', `{"amount":1e-19,"timestamp":${NOW}}`, 'amount'],
      ['timestamp not an integer', `{"amount":1,"timestamp":${NOW}.5}`, 'timestamp'],
      ['timestamp a string', `{"amount":1,"timestamp":"${NOW}"}`, 'timestamp'],
      ['timestamp negative', '{"amount":1,"timestamp":-1}', 'timestamp'],
      ['timestamp above 2^53 - 1', '{"amount":1,"timestamp":9007199254740992}', 'timestamp'],
      ['timestamp beyond the clock skew', `{"amount":1,"timestamp":${NOW + 2_001}}`, 'timestamp'],
      ['body an array', '[]', '(body)'],
      ['body a number', '42', '(body)'],
    ]

    it.each(invalid)(
      'answers 422 naming the field for %s, and stores nothing',
      async (_name, body, field) => {
        const response = await postRaw(t.app, '/transactions', body, 'application/json')
        const problem = expectProblem(response, 422)
        expect(problem.errors).toEqual(
          expect.arrayContaining([{ field, message: expect.any(String) }]),
        )
        expect(await statistics(t.app)).toEqual(EMPTY)
      },
    )

    it('names every offending field at once', async () => {
      const response = await postRaw(
        t.app,
        '/transactions',
        '{"amount":"x","timestamp":-5}',
        'application/json',
      )
      const fields = (expectProblem(response, 422).errors as Array<{ field: string }>).map(
        (e) => e.field,
      )
      expect(fields.sort()).toEqual(['amount', 'timestamp'])
    })

    it('answers 400 for malformed JSON', async () => {
      for (const body of [
        '{"amount":',
        '{bad}',
        '',
        '{"__proto__":{"x":1},"amount":1,"timestamp":1}',
      ]) {
        expectProblem(await postRaw(t.app, '/transactions', body, 'application/json'), 400)
      }
      expect(await statistics(t.app)).toEqual(EMPTY)
    })

    it('answers 415 for a content type other than JSON', async () => {
      for (const type of [
        'text/plain',
        'application/x-www-form-urlencoded',
        'application/xml',
        undefined,
      ]) {
        const response = await postRaw(
          t.app,
          '/transactions',
          `{"amount":1,"timestamp":${NOW}}`,
          type,
        )
        expectProblem(response, 415)
      }
      expect(await statistics(t.app)).toEqual(EMPTY)
    })

    it('answers 413 for a body over the limit', async () => {
      const small = await testApp({ store, env: { BODY_LIMIT: '1024' } })
      const body = JSON.stringify({ amount: 1, timestamp: NOW, pad: 'x'.repeat(2000) })
      expectProblem(await postRaw(small.app, '/transactions', body, 'application/json'), 413)
      expect(await statistics(small.app)).toEqual(EMPTY)
      await small.app.close()
    })
  })

  describe('DELETE /transactions', () => {
    it('answers 204 and empties the window', async () => {
      await postJson(t.app, '/transactions', { amount: 5, timestamp: NOW })
      const response = await t.app.inject({ method: 'DELETE', url: '/transactions' })
      expect(response.statusCode).toBe(204)
      expect(response.body).toBe('')
      expect(await statistics(t.app)).toEqual(EMPTY)
    })
  })

  describe('anything else', () => {
    it('answers 404 problem+json for an unknown route', async () => {
      expectProblem(await t.app.inject({ method: 'GET', url: '/nope' }), 404)
    })

    it('answers 404 problem+json for a method a route lacks', async () => {
      expectProblem(await t.app.inject({ method: 'PUT', url: '/transactions' }), 404)
    })
  })
})
