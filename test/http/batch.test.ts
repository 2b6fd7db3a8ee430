import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { NOW, postJson, postRaw, statistics, type TestApp, testApp } from '../support/http.js'
import { describeStores, HTTP_STORE_KINDS } from '../support/stores.js'

describeStores(HTTP_STORE_KINDS, (store) => {
  let t: TestApp
  beforeEach(async () => {
    t = await testApp({ store, env: { BATCH_MAX_ITEMS: '5' } })
  })
  afterEach(() => t.app.close())

  describe('POST /transactions/batch', () => {
    it('answers per item: stored, too old or invalid, and stores only the stored', async () => {
      const response = await postJson(t.app, '/transactions/batch', [
        { amount: 1.5, timestamp: NOW },
        { amount: 2, timestamp: NOW - 60_000 },
        { amount: '3', timestamp: NOW },
        { amount: 4, timestamp: NOW + 10_000 },
        { amount: 0.25, timestamp: NOW - 59_999 },
      ])
      expect(response.statusCode).toBe(200)
      expect(response.json()).toEqual({
        stored: 2,
        tooOld: 1,
        invalid: 2,
        results: ['stored', 'tooOld', 'invalid', 'invalid', 'stored'],
        errors: [
          { index: 2, field: 'amount', message: 'must be number' },
          { index: 3, field: 'timestamp', message: 'must not be more than 2000 ms in the future' },
        ],
        unlistedErrors: 0,
      })
      expect(await statistics(t.app)).toEqual({
        sum: 1.75,
        avg: 0.875,
        max: 1.5,
        min: 0.25,
        count: 2,
      })
    })

    it('judges items that are not objects as invalid', async () => {
      const response = await postJson(t.app, '/transactions/batch', [
        null,
        7,
        { amount: 1e-30, timestamp: NOW },
      ])
      expect(response.json()).toMatchObject({
        invalid: 3,
        errors: [
          { index: 0, field: '(item)' },
          { index: 1, field: '(item)' },
          {
            index: 2,
            field: 'amount',
            message: 'must have at most 18 digits after the decimal point',
          },
        ],
      })
    })

    it('accepts an empty batch', async () => {
      const response = await postJson(t.app, '/transactions/batch', [])
      expect(response.json()).toEqual({
        stored: 0,
        tooOld: 0,
        invalid: 0,
        results: [],
        errors: [],
        unlistedErrors: 0,
      })
    })

    it('refuses a batch over the limit, a non-array or malformed JSON whole, storing nothing', async () => {
      const six = Array.from({ length: 6 }, () => ({ amount: 1, timestamp: NOW }))
      expect((await postJson(t.app, '/transactions/batch', six)).statusCode).toBe(422)
      expect(
        (await postJson(t.app, '/transactions/batch', { amount: 1, timestamp: NOW })).statusCode,
      ).toBe(422)
      const truncated = JSON.stringify(six.slice(0, 3)).slice(0, -2)
      expect(
        (await postRaw(t.app, '/transactions/batch', truncated, 'application/json')).statusCode,
      ).toBe(400)
      expect((await statistics(t.app)).count).toBe(0)
    })

    it('judges an amount that is not exact as written as invalid, alone', async () => {
      const body = `[{"amount": 0.1234567890123456789, "timestamp": ${NOW}}, {"amount": 0.5, "timestamp": ${NOW}}]`
      const response = await postRaw(t.app, '/transactions/batch', body, 'application/json')
      expect(response.json()).toMatchObject({
        stored: 1,
        invalid: 1,
        results: ['invalid', 'stored'],
        errors: [
          { index: 0, field: 'amount', message: expect.stringMatching(/exactly as written/) },
        ],
      })
      expect((await statistics(t.app)).sum).toBe(0.5)
    })
  })

  it('lists the first 100 errors and counts the rest: an answer is at most 4 × its request + 20 KiB', async () => {
    const large = await testApp({ store })
    try {
      for (const items of [1, 100, 1_000, 10_000]) {
        const request = `[${Array.from({ length: items }, () => '{}').join(',')}]`
        const response = await postRaw(
          large.app,
          '/transactions/batch',
          request,
          'application/json',
        )
        const body = response.json()
        expect(body.invalid).toBe(items)
        // Each item lacks both fields: two errors each, the first 100 listed.
        expect(body.errors).toHaveLength(Math.min(100, 2 * items))
        expect(body.unlistedErrors).toBe(Math.max(0, 2 * items - 100))
        expect(response.body.length).toBeLessThanOrEqual(4 * request.length + 20 * 1024)
      }
    } finally {
      await large.app.close()
    }
  })
})
