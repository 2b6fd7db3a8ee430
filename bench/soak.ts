/**
 * Soak run (not a test): everything at once against the built service for SOAK_SECONDS (default
 * 120): single POSTs near capacity, batches, GETs, stream subscribers, bad inputs and clients that
 * drop mid-body. Every transaction answered as stored is kept in a client-side ledger, per second,
 * and the service's per-second series must match it exactly at the end. Prints a report.
 *
 * Run: npm run soak   (SOAK_SECONDS=600 npm run soak for ten minutes)
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { Agent, get, type IncomingMessage, request } from 'node:http'
import { connect } from 'node:net'

const SECONDS = Number(process.env.SOAK_SECONDS ?? 120)
const PORT = Number(process.env.SOAK_PORT ?? 8765)
const WINDOW_MS = 300_000
const BASE = `http://127.0.0.1:${PORT}`
const agent = new Agent({ keepAlive: true, maxSockets: 256 })

interface Ledger {
  count: number
  cents: bigint
}
const ledger = new Map<number, Ledger>()
const served = new Map<string, number>()
let serverErrors = 0
let transportErrors = 0
const latencies: number[] = [] // POST latencies of the current 10 s slice, ms
const p99s: string[] = []
const rss: number[] = []
let running = true

function remember(timestamp: number, cents: number): void {
  const second = Math.floor(timestamp / 1000)
  const entry = ledger.get(second) ?? { count: 0, cents: 0n }
  entry.count++
  entry.cents += BigInt(cents)
  ledger.set(second, entry)
}

function call(
  method: string,
  path: string,
  body?: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve) => {
    const headers: Record<string, string | number> = {}
    if (body !== undefined) {
      headers['content-type'] = 'application/json'
      headers['content-length'] = Buffer.byteLength(body)
    }
    const req = request(`${BASE}${path}`, { method, agent, headers }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        text += chunk
      })
      res.on('end', () => {
        const status = res.statusCode ?? 0
        const key = `${method} ${path.split('?')[0]} ${status}`
        served.set(key, (served.get(key) ?? 0) + 1)
        if (status >= 500) serverErrors++
        resolve({ status, text })
      })
    })
    req.on('error', () => {
      transportErrors++
      resolve({ status: 0, text: '' })
    })
    req.end(body)
  })
}

const cents = (i: number) => ((i * 7919) % 200_000) - 50_000 // negatives too

async function singlePosts(worker: number): Promise<void> {
  for (let i = worker; running; i += 1_000) {
    const amount = cents(i)
    const timestamp = Date.now()
    const started = performance.now()
    const { status } = await call(
      'POST',
      '/transactions',
      JSON.stringify({ amount: amount / 100, timestamp }),
    )
    latencies.push(performance.now() - started)
    if (status === 201) remember(timestamp, amount)
  }
}

async function batches(worker: number): Promise<void> {
  for (let i = worker; running; i += 1_000) {
    const now = Date.now()
    const items = Array.from({ length: 500 }, (_, k) => ({
      amount: cents(i + k) / 100,
      timestamp: now - (k % 500),
    }))
    items.push({ amount: Number.NaN, timestamp: now }) // serialises as null: one invalid item each time
    const { status, text } = await call('POST', '/transactions/batch', JSON.stringify(items))
    if (status !== 200) continue
    const results = (JSON.parse(text) as { results: string[] }).results
    results.forEach((result, k) => {
      const item = items[k]
      if (result === 'stored' && item) remember(item.timestamp, cents(i + k))
    })
  }
}

async function reads(): Promise<void> {
  while (running) await call('GET', '/statistics')
}

const BAD = [
  '{"amount":',
  '{"amount":"12.3","timestamp":1}',
  '{"amount":1e400,"timestamp":1}',
  '[1,2,3]',
  '{"amount":1,"timestamp":-5}',
]
async function badInputs(): Promise<void> {
  for (let i = 0; running; i++) {
    const { status } = await call('POST', '/transactions', BAD[i % BAD.length])
    if (status !== 400 && status !== 422 && status !== 0)
      console.error(`bad input answered ${status}`)
  }
}

/** Sends half a body and hangs up: nothing of it may be stored. */
async function droppers(): Promise<void> {
  while (running) {
    await new Promise<void>((resolve) => {
      const socket = connect(PORT, '127.0.0.1', () => {
        const body = JSON.stringify({ amount: 1, timestamp: Date.now() })
        socket.write(
          `POST /transactions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`,
        )
        setTimeout(() => {
          socket.destroy()
          resolve()
        }, 20)
      })
      socket.on('error', () => resolve())
    })
  }
}

function subscribe(count: number): IncomingMessage[] {
  const streams: IncomingMessage[] = []
  for (let i = 0; i < count; i++) {
    get(`${BASE}/statistics/stream?interval=1000`, { agent: false }, (response) => {
      streams.push(response)
      response.resume()
    }).on('error', () => transportErrors++)
  }
  return streams
}

function readRss(server: ChildProcess): number {
  const status = readFileSync(`/proc/${server.pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN) / 1024
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN
}

async function main(): Promise<void> {
  const server = spawn(process.execPath, ['dist/server.js'], {
    env: {
      ...process.env,
      PORT: String(PORT),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      WINDOW_MS: String(WINDOW_MS),
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  })
  for (let i = 0; i < 100; i++) {
    if ((await call('GET', '/health')).status === 200) break
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  served.clear()
  rss.push(readRss(server))
  const sampler = setInterval(() => {
    rss.push(readRss(server))
    p99s.push(percentile(latencies.splice(0), 99).toFixed(1))
  }, 10_000)
  const streams = subscribe(100)
  const work = [
    ...Array.from({ length: 32 }, (_, w) => singlePosts(w)),
    ...Array.from({ length: 2 }, (_, w) => batches(w)),
    ...Array.from({ length: 4 }, () => reads()),
    badInputs(),
    droppers(),
  ]
  const started = Date.now()
  await new Promise((resolve) => setTimeout(resolve, SECONDS * 1_000))
  running = false
  await Promise.all(work)
  clearInterval(sampler)
  for (const stream of streams) stream.destroy()
  rss.push(readRss(server))

  const series = JSON.parse((await call('GET', '/statistics/series')).text) as {
    at: number
    points: Array<{ second: number; count: number; sum: number }>
  }
  // Every second wholly inside the window must match the ledger exactly.
  let mismatches = 0
  let checked = 0
  let expectedCount = 0
  let countedCount = 0
  for (const point of series.points.slice(1, -1)) {
    const expected = ledger.get(point.second) ?? { count: 0, cents: 0n }
    checked++
    expectedCount += expected.count
    countedCount += point.count
    if (point.count !== expected.count || point.sum !== Number(expected.cents) / 100) mismatches++
  }
  const stored = [...ledger.values()].reduce((n, e) => n + e.count, 0)
  const requests = [...served.values()].reduce((n, c) => n + c, 0)
  server.kill('SIGTERM')

  console.log(
    `soak: ${SECONDS} s against the memory store (window ${WINDOW_MS / 1000} s), ${((Date.now() - started) / 1000).toFixed(0)} s elapsed`,
  )
  console.log(
    `requests answered      ${requests.toLocaleString('en-US')} (transport errors ${transportErrors})`,
  )
  console.log(`5xx                    ${serverErrors}`)
  console.log(`stored (client ledger) ${stored.toLocaleString('en-US')} transactions`)
  console.log(
    `ledger vs series       ${checked} whole seconds compared, ${mismatches} mismatched; ${countedCount.toLocaleString('en-US')} counted vs ${expectedCount.toLocaleString('en-US')} expected`,
  )
  console.log(`lost accepted          ${Math.max(0, expectedCount - countedCount)}`)
  console.log(
    `RSS MB                 start ${rss[0]?.toFixed(1)}, peak ${Math.max(...rss).toFixed(1)}, end ${rss.at(-1)?.toFixed(1)}`,
  )
  console.log(`POST p99 ms per 10 s   ${p99s.join(' ')}`)
  const statuses = [...served].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}: ${v}`)
  console.log(`by route and status    ${statuses.join(', ')}`)
  process.exitCode = serverErrors > 0 || mismatches > 0 ? 1 : 0
}

await main()
