import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { NOW, postJson, statistics, type TestApp, testApp } from '../support/http.js'
import { describeStores, HTTP_STORE_KINDS } from '../support/stores.js'

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
})
