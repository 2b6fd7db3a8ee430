import type { ChildProcess } from 'node:child_process'
import { request } from 'node:http'
import { afterAll, describe, expect, it } from 'vitest'
import { ServiceProcess } from './support/processes.js'
import { deleteKeys } from './support/stores.js'

const PREFIX = `test:processes:${process.pid}:${Date.now()}:`
const children: ChildProcess[] = []

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
  await deleteKeys(PREFIX)
})

/**
 * A service process on Redis, its clock shifted by `offsetMs`; resolves once `processes` of it
 * listen (a cluster's primary hands connections only to workers that listen).
 */
async function start(env: Record<string, string>, offsetMs = 0, processes = 1) {
  const service = new ServiceProcess(
    { STORE: 'redis', REDIS_PREFIX: PREFIX, ...env },
    { clockOffsetMs: offsetMs, detached: true },
  )
  children.push(service.child)
  const port = await service.listening(processes)
  return { service, port }
}

/** One request on its own connection, so that a cluster's primary may hand it to any worker. */
function send(port: number, method: string, path: string, body?: unknown) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    const req = request(
      {
        port,
        host: '127.0.0.1',
        method,
        path,
        agent: false,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        let text = ''
        res.on('data', (chunk: Buffer) => {
          text += String(chunk)
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
      },
    )
    req.on('error', reject)
    req.end(payload)
  })
}

describe.concurrent('service processes sharing one Redis', () => {
  it('agree to the millisecond although their clocks are 40 s apart: the window runs on Redis time', async () => {
    const [ahead, behind] = await Promise.all([
      start({ REDIS_PREFIX: `${PREFIX}clocks:` }, 20_000),
      start({ REDIS_PREFIX: `${PREFIX}clocks:` }, -20_000),
    ])
    const now = Date.now()
    // On its own clock, `ahead` would refuse the first as too old, and `behind` would refuse
    // the second as more than 2 s in the future.
    const transactions = [
      { amount: 0.1, timestamp: now - 45_000 },
      { amount: 0.2, timestamp: now - 10_000 },
    ]
    for (const service of [ahead, behind]) {
      for (const transaction of transactions) {
        expect((await send(service.port, 'POST', '/transactions', transaction)).status).toBe(201)
      }
    }
    const [fromAhead, fromBehind] = await Promise.all(
      [ahead, behind].map((service) => send(service.port, 'GET', '/statistics')),
    )
    expect(JSON.parse(fromAhead?.body ?? '')).toEqual({
      sum: 0.6,
      avg: 0.15,
      max: 0.2,
      min: 0.1,
      count: 4,
    })
    expect(fromBehind?.body).toBe(fromAhead?.body)
    expect(await Promise.all([ahead.service.stop(), behind.service.stop()])).toEqual([0, 0])
  }, 30_000)

  it('runs WORKERS=2 processes on one port, each serving, and all stop gracefully on SIGTERM to the group', async () => {
    const service = await start({ REDIS_PREFIX: `${PREFIX}workers:`, WORKERS: '2' }, 0, 2)
    for (let i = 0; i < 20; i++) {
      const response = await send(service.port, 'POST', '/transactions', {
        amount: 1.25,
        timestamp: Date.now(),
      })
      expect(response.status).toBe(201)
    }
    const statistics = JSON.parse((await send(service.port, 'GET', '/statistics')).body)
    expect(statistics).toEqual({ sum: 25, avg: 1.25, max: 1.25, min: 1.25, count: 20 })
    const workers = new Set(service.service.lines('"url":"/transactions"').map((line) => line.pid))
    expect(workers.size).toBe(2)
    expect(await service.service.stop('SIGTERM', true)).toBe(0)
    // Each worker shut down gracefully, once, though the signal reached every process.
    const shutdowns = service.service.stdout.match(/"msg":"shutting down"/g) ?? []
    expect(shutdowns).toHaveLength(2)
  }, 30_000)
})
