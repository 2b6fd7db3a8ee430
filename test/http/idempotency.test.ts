import { afterEach, describe, expect, it } from 'vitest'
import { parseKey } from '../../src/http/idempotency.js'
import { expectProblem, NOW, postJson, statistics, type TestApp, testApp } from '../support/http.js'
import { describeStores, HTTP_STORE_KINDS } from '../support/stores.js'

const KEY = 'idempotency-key'
const REPLAYED = 'idempotent-replayed'

describeStores(HTTP_STORE_KINDS, (store) => {
  let t: TestApp
  afterEach(() => t.app.close())

  it('answers a POST sent again with its key as the first time, marked replayed, and counts it once', async () => {
    t = await testApp({ store })
    const body = { amount: 12.3, timestamp: NOW - 1_000 }
    const first = await postJson(t.app, '/transactions', body, { [KEY]: 'order-1' })
    expect(first.statusCode).toBe(201)
    expect(first.headers[REPLAYED]).toBeUndefined()
    const again = await postJson(t.app, '/transactions', body, { [KEY]: 'order-1' })
    expect(again.statusCode).toBe(201)
    expect(again.headers[REPLAYED]).toBe('true')
    expect(await statistics(t.app)).toMatchObject({ count: 1, sum: 12.3 })
    const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body
    expect(metrics).toMatch(/^txstats_transactions_stored_total 1$/m)
    expect(metrics).toMatch(/^txstats_idempotent_replays_total 1$/m)
  })

  it('replays 204 and 422 as they were, even when the transaction would be judged otherwise now', async () => {
    t = await testApp({ store })
    const ahead = { amount: 1, timestamp: NOW + 2_001 }
    expectProblem(await postJson(t.app, '/transactions', ahead, { [KEY]: 'ahead' }), 422)
    t.clock.advance(5_000)
    const replayed = await postJson(t.app, '/transactions', ahead, { [KEY]: 'ahead' })
    expectProblem(replayed, 422)
    expect(replayed.headers[REPLAYED]).toBe('true')
    const old = { amount: 1, timestamp: NOW - 60_000 }
    expect((await postJson(t.app, '/transactions', old, { [KEY]: 'old' })).statusCode).toBe(204)
    const again = await postJson(t.app, '/transactions', old, { [KEY]: 'old' })
    expect(again.statusCode).toBe(204)
    expect(again.headers[REPLAYED]).toBe('true')
    expect(await statistics(t.app)).toMatchObject({ count: 0 })
  })

  it('replays a batch with the same per-item results, counting its transactions once', async () => {
    t = await testApp({ store })
    const batch = [
      { amount: 1.25, timestamp: NOW },
      { amount: 'x', timestamp: NOW },
      { amount: 2, timestamp: NOW - 60_000 },
    ]
    const first = await postJson(t.app, '/transactions/batch', batch, { [KEY]: 'batch-1' })
    expect(first.statusCode).toBe(200)
    expect(first.json()).toMatchObject({ results: ['stored', 'invalid', 'tooOld'] })
    const again = await postJson(t.app, '/transactions/batch', batch, { [KEY]: 'batch-1' })
    expect(again.statusCode).toBe(200)
    expect(again.headers[REPLAYED]).toBe('true')
    expect(again.json()).toEqual(first.json())
    expect(await statistics(t.app)).toMatchObject({ count: 1, sum: 1.25 })
  })

  it('refuses the same key with another body with 422, doing nothing', async () => {
    t = await testApp({ store })
    await postJson(t.app, '/transactions', { amount: 1, timestamp: NOW }, { [KEY]: 'k' })
    const other = await postJson(
      t.app,
      '/transactions',
      { amount: 2, timestamp: NOW },
      { [KEY]: 'k' },
    )
    expect(expectProblem(other, 422).detail).toMatch(/different request body/)
    expect(await statistics(t.app)).toMatchObject({ count: 1, sum: 1 })
  })

  it('refuses a malformed key with 400, doing nothing', async () => {
    t = await testApp({ store })
    const body = { amount: 1, timestamp: NOW }
    for (const key of ['x'.repeat(256), 'tab\there', '"unterminated', '"bad\\escape"', '""']) {
      const response = await postJson(t.app, '/transactions', body, { [KEY]: key })
      expect(expectProblem(response, 400).detail).toMatch(/Idempotency-Key/)
    }
    expect(await statistics(t.app)).toMatchObject({ count: 0 })
  })

  it('scopes keys by API key: two clients with the same key are two requests', async () => {
    const keys = ['client-one-0123456789', 'client-two-0123456789']
    t = await testApp({ store, env: { API_KEYS: keys.join(',') } })
    const body = { amount: 3, timestamp: NOW }
    for (const apiKey of keys) {
      const response = await postJson(t.app, '/transactions', body, {
        [KEY]: 'same',
        authorization: `Bearer ${apiKey}`,
      })
      expect(response.statusCode).toBe(201)
      expect(response.headers[REPLAYED]).toBeUndefined()
    }
    expect(await statistics(t.app)).toMatchObject({ count: 2, sum: 6 })
    // The same client, whatever the case of the scheme, is the same scope.
    const again = await postJson(t.app, '/transactions', body, {
      [KEY]: 'same',
      authorization: `bearer ${keys[0]}`,
    })
    expect(again.headers[REPLAYED]).toBe('true')
    // Nor does white space the key check trims (a no-break space): one client, one scope.
    const padded = await postJson(t.app, '/transactions', body, {
      [KEY]: 'same',
      authorization: `Bearer ${keys[0]}\u00a0`,
    })
    expect(padded.statusCode).toBe(201)
    expect(padded.headers[REPLAYED]).toBe('true')
    expect(await statistics(t.app)).toMatchObject({ count: 2, sum: 6 })
  })

  it("holds each API key to its share of the budget: one client's keys never take another's room", async () => {
    const keys = ['client-one-0123456789', 'client-two-0123456789']
    t = await testApp({
      store,
      env: { API_KEYS: keys.join(','), IDEMPOTENCY_MEMORY_MB: '1', IDEMPOTENCY_CLIENT_SHARE: '1' },
    })
    const post = (apiKey: string, key: string) =>
      postJson(
        t.app,
        '/transactions',
        { amount: 1, timestamp: NOW },
        { [KEY]: key, authorization: `Bearer ${apiKey}` },
      )
    let refused: Awaited<ReturnType<typeof postJson>> | undefined
    for (let i = 0; i < 100 && refused === undefined; i++) {
      const response = await post(keys[0] as string, `a-${i}`)
      if (response.statusCode !== 201) refused = response
    }
    if (refused === undefined) throw new Error("the first client's share was never spent")
    expectProblem(refused, 503)
    for (let i = 0; i < 5; i++)
      expect((await post(keys[1] as string, `b-${i}`)).statusCode).toBe(201)
  })

  it('refuses two Idempotency-Key headers with 400, storing nothing', async () => {
    t = await testApp({ store })
    const response = await t.app.inject({
      method: 'POST',
      url: '/transactions',
      payload: JSON.stringify({ amount: 1, timestamp: NOW }),
      headers: { 'content-type': 'application/json', [KEY]: ['one', 'two'] },
    })
    const problem = expectProblem(response, 400)
    expect(problem.detail).toMatch(/sent once/)
    expect(await statistics(t.app)).toMatchObject({ count: 0 })
  })

  if (store === 'redis') {
    it('answers 409 to a request whose key is still being answered here', async () => {
      t = await testApp({ store })
      const body = { amount: 5, timestamp: NOW }
      const [first, second] = await Promise.all([
        postJson(t.app, '/transactions', body, { [KEY]: 'twice' }),
        postJson(t.app, '/transactions', body, { [KEY]: 'twice' }),
      ])
      expect(first?.statusCode).toBe(201)
      expectProblem(second as NonNullable<typeof second>, 409)
      expect(second?.headers['retry-after']).toBe('1')
      expect(await statistics(t.app)).toMatchObject({ count: 1 })
    })
  }
})

describe('the remembered keys budget', () => {
  let t: TestApp
  afterEach(() => t.app.close())

  it('answers 503 with Retry-After to a new key once it is spent, and still serves requests without one', async () => {
    t = await testApp({ env: { IDEMPOTENCY_MEMORY_MB: '1' } })
    const batch = Array.from({ length: 10_000 }, () => ({ amount: 1, timestamp: NOW }))
    let refused: Awaited<ReturnType<typeof postJson>> | undefined
    let accepted = 0
    for (let i = 0; i < 200 && refused === undefined; i++) {
      const response = await postJson(t.app, '/transactions/batch', batch, { [KEY]: `b${i}` })
      if (response.statusCode === 200) accepted++
      else refused = response
    }
    if (refused === undefined) throw new Error('the budget was never spent')
    expect(expectProblem(refused, 503).detail).toMatch(/nothing was done/)
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0)
    expect(await statistics(t.app)).toMatchObject({ count: accepted * 10_000 })
    expect((await postJson(t.app, '/transactions', batch[0])).statusCode).toBe(201)
  })
})

describe('the Idempotency-Key header', () => {
  it('is a token or a quoted string of 1 to 255 printable characters', () => {
    expect(parseKey('abc-123')).toBe('abc-123')
    expect(parseKey('"8e03978e-40d5"')).toBe('8e03978e-40d5')
    expect(parseKey('"a \\"quoted\\" \\\\ key"')).toBe('a "quoted" \\ key')
    expect(parseKey('x'.repeat(255))).toBe('x'.repeat(255))
    for (const bad of ['', 'x'.repeat(256), 'é', 'a\u0000b', '"a"b"', '"a\\b"', '"a\\"']) {
      expect(parseKey(bad)).toBeUndefined()
    }
  })
})
