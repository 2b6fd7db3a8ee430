import type { AddressInfo } from 'node:net'
import fc from 'fast-check'
import type { InjectOptions } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NOW, rawExchange, type TestApp, testApp } from '../support/http.js'
import { describeStores, HTTP_STORE_KINDS } from '../support/stores.js'

const edgeNumber = fc.oneof(
  fc.constantFrom(
    -0,
    5e-324,
    -5e-324,
    1.7976931348623157e308,
    -1.7976931348623157e308,
    2 ** 53,
    1e15,
    -1e15,
  ),
  fc.constantFrom(0.1, 0.30000000000000004, 123456789.12345679, 1e-18, 1e-19, 0.01, 1e15 + 0.125),
  fc.double(),
  fc.integer(),
)
const timestamp = fc.oneof(
  fc.constantFrom(NOW, NOW - 60_000, NOW - 59_999, NOW + 2_000, NOW + 2_001, -1, 2 ** 53, 0),
  fc.integer({ min: NOW - 70_000, max: NOW + 5_000 }),
  edgeNumber,
)
/** Values of the fuzzed service's one dimension: printable or not, long or short, or not text. */
const currency = fc.oneof(
  fc.constantFrom('EUR', '', ' ', 'x'.repeat(64), 'x'.repeat(65), '€', '\u0000', '\ud800', 'a\nb'),
  fc.string({ unit: 'binary', maxLength: 70 }),
  fc.jsonValue(),
)
const transaction = fc.record(
  {
    amount: fc.oneof(edgeNumber, fc.jsonValue()),
    timestamp: fc.oneof(timestamp, fc.jsonValue()),
    currency,
  },
  { requiredKeys: [] },
)
/** Number literals as a client may write them: more digits than a double holds, exponents. */
const writtenAmount = fc.oneof(
  fc.constantFrom(
    '1000000000000000000001',
    '1.0000000000000000001',
    '0.1234567890123456789',
    '1e-400',
    '123456789.123456789',
    '1E2',
    '-0.0',
  ),
  fc
    .tuple(
      fc.stringMatching(/^-?[1-9]\d{0,24}$/),
      fc.nat({ max: 24 }),
      fc.integer({ min: -25, max: 25 }),
    )
    .map(([digits, point, exponent]) => {
      const at = Math.min(point, digits.length - 1)
      return `${digits.slice(0, at + 1)}.${digits.slice(at + 1) || '0'}e${exponent}`
    }),
)
const body: fc.Arbitrary<string | Buffer | undefined> = fc.oneof(
  writtenAmount.map((amount) => `{"amount": ${amount}, "timestamp": ${NOW}}`),
  writtenAmount.map((amount) => `[{"amount": ${amount}, "timestamp": ${NOW}}]`),
  transaction.map((t) => JSON.stringify(t)),
  fc
    .array(fc.oneof(transaction, fc.jsonValue()), { maxLength: 20 })
    .map((items) => JSON.stringify(items)),
  fc.json(),
  fc.string({ unit: 'binary' }),
  fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
  fc.constantFrom(
    undefined,
    '',
    '{"amount":1e400,"timestamp":1}',
    `{"amount":12.300000000000000000000001,"timestamp":${NOW}}`,
    '{"__proto__":{"admin":true}}',
    '{"constructor":{"prototype":{}}}',
    `[${'{"amount":1,"timestamp":1},'.repeat(50)}{}]`,
    '\uFEFF{}',
  ),
)
const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'application/json; charset=utf-16',
  'APPLICATION/JSON',
  'application/json;;',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  '',
  undefined,
)
const path = fc.oneof(
  fc.constantFrom(
    '/transactions',
    '/transactions/batch',
    '/statistics',
    '/statistics/series',
    '/statistics?currency=EUR',
    '/statistics?currency=%00',
    '/statistics?currency=EUR&quantiles=0.5',
    '/statistics/breakdown?by=currency',
    '/statistics/breakdown?by=currency&order=count&limit=1000',
    '/statistics/breakdown?by=amount',
    '/statistics/breakdown?by=currency&limit=99999',
    '/statistics/stream?interval=99',
    '/statistics/stream?interval=abc',
    '/metrics',
    '/health',
    '/ready',
    '/',
    '/nope',
    '/%ff',
    '/transactions?x=%zz',
    '//transactions',
    '/transactions/',
  ),
  fc.webPath().filter((p) => p.startsWith('/') && !p.startsWith('/statistics/stream')),
)
const method = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD' as const)
const extraHeaders = fc.oneof(
  fc.constant({}),
  fc.record({ 'x-large': fc.constant('a'.repeat(8_000)) }),
  fc.record({ 'content-length': fc.constantFrom('0', '5', '-1', 'abc') }),
  fc.record({ accept: fc.constantFrom('*/*', 'text/html', 'application/xml') }),
)

const request = fc.record({ method, path, body, contentType, extraHeaders })

describeStores(HTTP_STORE_KINDS, (store) => {
  /** 10 000 on the memory store; over the network to Redis, where each one costs three round trips, fewer. */
  const RUNS = store === 'memory' ? 10_000 : 2_000
  let t: TestApp
  /**
   * How many of the transactions answered as stored the window shows now: a transaction stored
   * from the near future (within the clock skew) counts from its own instant.
   */
  function visible(items: Array<{ timestamp: number }>, results: string[]): number {
    return items.filter((item, i) => results[i] === 'stored' && item.timestamp <= NOW).length
  }

  beforeAll(async () => {
    t = await testApp({ store, env: { DIMENSIONS: 'currency', DIMENSION_MAX_VALUES: '50' } })
  })
  afterAll(() => t.app.close())

  describe('fuzzing the HTTP surface', () => {
    it(`answers ${RUNS} random requests with a 4xx or the right 2xx, one error shape, and stores only what it says`, async () => {
      const seen = new Map<number, number>()
      await fc.assert(
        fc.asyncProperty(request, async (r) => {
          const headers: Record<string, string> = { ...r.extraHeaders }
          if (r.contentType !== undefined) headers['content-type'] = r.contentType
          const options: InjectOptions = {
            method: r.method,
            url: r.path,
            headers,
          }
          if (r.body !== undefined && r.method !== 'GET' && r.method !== 'HEAD')
            options.payload = r.body
          const before = await t.store.statistics()
          const response = await t.app.inject(options)
          const after = await t.store.statistics()
          seen.set(response.statusCode, (seen.get(response.statusCode) ?? 0) + 1)

          expect(response.statusCode).toBeLessThan(500)
          if (response.statusCode >= 400 && r.method !== 'HEAD') {
            expect(response.headers['content-type']).toMatch(/^application\/problem\+json/)
            const problem = response.json()
            expect(problem).toMatchObject({
              type: expect.any(String),
              title: expect.any(String),
              detail: expect.any(String),
            })
            expect(problem.status).toBe(response.statusCode)
          }
          if (r.method === 'DELETE' && response.statusCode === 204) {
            expect(after.count).toBe(0) // DELETE /transactions empties the window
          } else if (response.statusCode === 201) {
            expect(after.count).toBe(
              before.count + visible([JSON.parse(String(r.body))], ['stored']),
            )
          } else if (
            response.statusCode === 200 &&
            r.path === '/transactions/batch' &&
            r.method === 'POST'
          ) {
            const stored = visible(JSON.parse(String(r.body)), response.json().results)
            expect(after.count).toBe(before.count + stored)
          } else {
            expect(after).toEqual(before)
          }
        }),
        { numRuns: RUNS },
      )
      expect([...seen.keys()].some((status) => status >= 200 && status < 300)).toBe(true)
      expect(seen.get(422)).toBeGreaterThan(0)
    }, 120_000)
  })
})

/** Requests as bytes on a socket, malformed where the HTTP parser, not a route, must refuse them. */
const rawRequest = fc
  .record({
    method: fc.constantFrom('GET', 'POST', 'DELETE', 'G ET', ''),
    path: fc.constantFrom('/statistics', '/transactions', '/transactions/batch', '/nope', '*', ''),
    version: fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1 x', ''),
    headers: fc.array(
      fc.constantFrom(
        'Host: x',
        'Content-Type: application/json',
        'Content-Length: 5',
        'Content-Length: -1',
        'Content-Length: 3\r\nContent-Length: 4',
        'Transfer-Encoding: chunked',
        'Transfer-Encoding: gzip, chunked',
        'X-Folded: a\r\n b',
        'Expect: foo',
        'Expect: 100-continue',
        'Authorization: Bearer wrong-key-0123456789',
        `X-Big: ${'a'.repeat(20_000)}`,
        'Bad Header',
        ': empty',
      ),
      { maxLength: 5 },
    ),
    body: fc.oneof(
      fc.constantFrom('', '{"amount":1,"timestamp":1}', 'zz\r\n', '0\r\n\r\n'),
      fc.string({ maxLength: 40 }),
    ),
  })
  .map(({ method, path, version, headers, body }) =>
    [`${method} ${path} ${version}`, ...headers, '', body].join('\r\n'),
  )

describe('fuzzing below the routes, over a real socket', () => {
  let t: TestApp
  let port: number
  beforeAll(async () => {
    t = await testApp({ env: { REQUEST_TIMEOUT_MS: '300', HEADERS_TIMEOUT_MS: '300' } })
    await t.app.listen({ port: 0, host: '127.0.0.1' })
    port = (t.app.server.address() as AddressInfo).port
  })
  afterAll(() => t.app.close())

  it('answers malformed requests with a 4xx problem, or closes, and never a 5xx', async () => {
    const before = await t.store.statistics()
    const seen = new Set<number>()
    await fc.assert(
      fc.asyncProperty(rawRequest, async (bytes) => {
        const answer = await rawExchange(port, bytes)
        for (const response of answer.split(/(?=HTTP\/1\.[01] \d{3} )/).filter(Boolean)) {
          const status = Number(/^HTTP\/1\.[01] (\d{3}) /.exec(response)?.[1])
          seen.add(status)
          expect(status, bytes.slice(0, 80)).toBeLessThan(500)
          if (status >= 400) expect(response.toLowerCase()).toContain('application/problem+json')
        }
      }),
      { numRuns: 300 },
    )
    expect([...seen].sort()).toEqual(expect.arrayContaining([400, 431]))
    // The only bodies that could store something are dated 1970: too old.
    expect(await t.store.statistics()).toEqual(before)
  }, 60_000)
})

describe('fuzzing the keys, with the failure limit on', () => {
  it('answers guesses 401, then only 429 once the budget is spent, even for the right key', async () => {
    const key = 'the-right-key-0123456789'
    const t = await testApp({ env: { API_KEYS: key, FAILURE_LIMIT_MAX: '20' } })
    try {
      const statuses: number[] = []
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom('Bearer', 'bearer', 'Basic', ''),
          fc.string({ minLength: 0, maxLength: 40 }),
          async (scheme, guess) => {
            const response = await t.app.inject({
              method: 'DELETE',
              url: '/transactions',
              headers: { authorization: `${scheme} ${guess}`.trim() },
            })
            statuses.push(response.statusCode)
            expect(response.headers['content-type']).toMatch(/^application\/problem\+json/)
          },
        ),
        { numRuns: 100 },
      )
      expect(statuses.slice(0, 20).every((status) => status === 401)).toBe(true)
      expect(statuses.slice(20).every((status) => status === 429)).toBe(true)
      const right = await t.app.inject({
        method: 'DELETE',
        url: '/transactions',
        headers: { authorization: `Bearer ${key}` },
      })
      expect(right.statusCode).toBe(429)
    } finally {
      await t.app.close()
    }
  })
})
