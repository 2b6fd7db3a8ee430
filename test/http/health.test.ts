import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type TestApp, testApp } from '../support/http.js'
import { describeStores, HTTP_STORE_KINDS } from '../support/stores.js'

describeStores(HTTP_STORE_KINDS, (store) => {
  let t: TestApp
  beforeEach(async () => {
    t = await testApp({ store })
  })
  afterEach(() => t.app.close())

  describe('health and readiness', () => {
    it('answers 200 on /health', async () => {
      const response = await t.app.inject({ method: 'GET', url: '/health' })
      expect(response.statusCode).toBe(200)
      expect(response.json()).toEqual({ status: 'ok' })
    })

    it('answers 200 on /ready while the store can serve, 503 problem+json when it cannot', async () => {
      expect((await t.app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200)
      t.store.ready = () => false
      const response = await t.app.inject({ method: 'GET', url: '/ready' })
      expect(response.statusCode).toBe(503)
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/)
    })
  })
})
