import { describe, expect, it } from 'vitest'
import { capturedLog, NOW, postJson, testApp } from '../support/http.js'

describe('request logging', () => {
  it('writes one JSON line per request at info', async () => {
    const { stream, lines } = capturedLog()
    const { app } = await testApp({ logger: { level: 'info', stream } })
    await postJson(app, '/transactions', { amount: 1, timestamp: NOW })
    await app.inject({ method: 'GET', url: '/statistics' })
    await app.close()
    const requests = lines
      .map((line) => JSON.parse(line))
      .filter((entry) => entry.msg === 'request')
    expect(requests).toEqual([
      expect.objectContaining({
        level: 30,
        reqId: expect.any(String),
        method: 'POST',
        url: '/transactions',
        statusCode: 201,
        responseTime: expect.any(Number),
      }),
      expect.objectContaining({ level: 30, method: 'GET', url: '/statistics', statusCode: 200 }),
    ])
    expect(lines.filter((line) => line.includes('incoming request'))).toEqual([])
  })

  it("gives every line a request writes its reqId, plugins' lines too", async () => {
    const { stream, lines } = capturedLog()
    const { app } = await testApp({
      env: { API_KEYS: 'a-key-of-sixteen-characters' },
      logger: { level: 'trace', stream },
    })
    // A wrong key (@fastify/bearer-auth logs it), a 404, and a well-formed request.
    await app.inject({
      method: 'DELETE',
      url: '/transactions',
      headers: { authorization: 'Bearer wrong' },
    })
    await app.inject({ method: 'GET', url: '/nowhere' })
    await app.inject({ method: 'GET', url: '/statistics' })
    const entries = lines.map((line) => JSON.parse(line))
    await app.close()
    expect(entries.length).toBeGreaterThan(3)
    expect(entries.filter((entry) => entry.reqId === undefined)).toEqual([])
    // The refused requests' lines name the client's address.
    const refused = entries.filter((entry) => entry.msg === 'request' && entry.statusCode >= 400)
    expect(refused.map((entry) => [entry.statusCode, entry.ip])).toEqual([
      [401, '127.0.0.1'],
      [404, '127.0.0.1'],
    ])
    expect(new Set(entries.map((entry) => entry.reqId)).size).toBe(3)
  })
})
