import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type TestApp, testApp } from '../support/http.js'

let t: TestApp
beforeAll(async () => {
  t = await testApp()
})
afterAll(() => t.app.close())

interface Operation {
  requestBody?: {
    content: Record<string, { schema: unknown; example?: unknown; examples?: unknown }>
  }
  responses: Record<string, unknown>
  parameters?: Array<{ in: string; name: string; required?: boolean }>
}

describe('API documentation', () => {
  it('serves an OpenAPI 3 document with every route, status code and body example', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/openapi.json' })
    expect(response.statusCode).toBe(200)
    const doc = response.json() as {
      openapi: string
      paths: Record<string, Record<string, Operation>>
      components: { schemas: Record<string, unknown> }
    }
    expect(doc.openapi).toMatch(/^3\./)
    const statuses = (path: string, method: string) =>
      Object.keys(doc.paths[path]?.[method]?.responses ?? {}).sort()
    expect(statuses('/transactions', 'post')).toEqual([
      '201',
      '204',
      '400',
      '401',
      '409',
      '413',
      '415',
      '422',
      '503',
    ])
    expect(statuses('/transactions/batch', 'post')).toEqual([
      '200',
      '400',
      '401',
      '409',
      '413',
      '415',
      '422',
      '503',
    ])
    expect(statuses('/transactions', 'delete')).toEqual(['204', '401', '503'])
    expect(statuses('/statistics', 'get')).toEqual(['200', '422', '503'])
    expect(statuses('/health', 'get')).toEqual(['200'])
    expect(statuses('/ready', 'get')).toEqual(['200', '503'])
    expect(statuses('/statistics/stream', 'get')).toEqual(['200', '422', '429', '503'])
    expect(statuses('/statistics/series', 'get')).toEqual(['200', '422', '503'])
    expect(statuses('/metrics', 'get')).toEqual(['200'])
    const stream = JSON.stringify(doc.paths['/statistics/stream'])
    expect(stream).toContain('text/event-stream')
    expect(JSON.stringify(doc.paths['/metrics'])).toContain('text/plain')
    for (const path of ['/transactions', '/transactions/batch']) {
      const content = doc.paths[path]?.post?.requestBody?.content['application/json']
      expect(content?.example ?? content?.examples).toBeDefined()
    }
    expect(doc.components.schemas.Problem).toBeDefined()
    for (const path of ['/transactions', '/transactions/batch']) {
      const parameters = doc.paths[path]?.post?.parameters ?? []
      expect(parameters).toContainEqual(
        expect.objectContaining({ in: 'header', name: 'idempotency-key', required: false }),
      )
    }
    expect(JSON.stringify(doc.paths['/statistics'])).toContain('"example"')
    // The guarantee of the quantiles is stated where the answer is described.
    const statistics = JSON.stringify(doc.paths['/statistics'])
    for (const name of ['windowMs', 'quantiles', 'quantileEdgeMs', 'relative accuracy']) {
      expect(statistics).toContain(name)
    }
  })

  it('documents dimensions when they are configured, and nothing of them when not', async () => {
    const plain = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json()
    expect(plain.paths['/statistics/breakdown']).toBeUndefined()
    const withDimensions = await testApp({ env: { DIMENSIONS: 'currency,merchant' } })
    try {
      const doc = (await withDimensions.app.inject({ method: 'GET', url: '/openapi.json' })).json()
      const breakdown = doc.paths['/statistics/breakdown'].get
      expect(Object.keys(breakdown.responses).sort()).toEqual(['200', '422', '503'])
      expect(breakdown.parameters.map((p: { name: string }) => p.name).sort()).toEqual([
        'by',
        'limit',
        'order',
        'windowMs',
      ])
      const statistics = JSON.stringify(doc.paths['/statistics'])
      for (const name of ['"currency"', '"merchant"', 'incomplete', 'overflow']) {
        expect(statistics).toContain(name)
      }
      const body = doc.paths['/transactions'].post.requestBody.content['application/json']
      expect(Object.keys(body.schema.properties)).toEqual([
        'amount',
        'timestamp',
        'currency',
        'merchant',
      ])
      const answer = JSON.stringify(breakdown.responses['200'])
      for (const name of ['other', 'missing', 'add up']) expect(answer).toContain(name)
    } finally {
      await withDimensions.app.close()
    }
  })

  it('serves interactive docs at /docs', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/docs/' })
    expect(response.statusCode).toBe(200)
    expect(response.body).toContain('swagger-ui')
  })
})
