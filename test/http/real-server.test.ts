import { Agent, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.js'
import { buildApp } from '../../src/http/app.js'
import { MemoryStore } from '../../src/store/memory.js'

let app: FastifyInstance
let base: string

beforeAll(async () => {
  const config = loadConfig({ LOG_LEVEL: 'silent' })
  app = await buildApp({ config, store: new MemoryStore() })
  await app.listen({ port: 0, host: '127.0.0.1' })
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
})
afterAll(() => app.close())

function post(agent: Agent, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}/transactions`,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

describe('the service on a real port', () => {
  it('speaks HTTP: posts, reads and deletes', async () => {
    const posted = await fetch(`${base}/transactions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ amount: 7.77, timestamp: Date.now() }),
    })
    expect(posted.status).toBe(201)
    expect(await (await fetch(`${base}/statistics`)).json()).toMatchObject({ count: 1, sum: 7.77 })
    expect((await fetch(`${base}/transactions`, { method: 'DELETE' })).status).toBe(204)
    expect(await (await fetch(`${base}/statistics`)).json()).toEqual({
      sum: 0,
      avg: 0,
      max: 0,
      min: 0,
      count: 0,
    })
  })

  it('counts exactly 20 000 transactions posted by 64 concurrent keep-alive clients', async () => {
    const clients = 64
    const total = 20_000
    const agent = new Agent({ keepAlive: true, maxSockets: clients })
    const now = Date.now()
    let expectedCents = 0n
    const bodies = Array.from({ length: total }, (_, i) => {
      const cents = ((i * 7919) % 100_000) - 20_000 // negatives too
      expectedCents += BigInt(cents)
      return JSON.stringify({ amount: cents / 100, timestamp: now - (i % 30_000) })
    })
    let next = 0
    const statuses: number[] = []
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (next < total) statuses.push(await post(agent, bodies[next++] as string))
      }),
    )
    agent.destroy()
    expect(statuses.filter((s) => s === 201)).toHaveLength(total)
    const stats = (await (await fetch(`${base}/statistics`)).json()) as {
      count: number
      sum: number
    }
    expect(stats.count).toBe(total)
    expect(stats.sum).toBe(Number(expectedCents) / 100)
  }, 60_000)
})
