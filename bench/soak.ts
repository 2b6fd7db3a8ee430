/**
 * Soak run (not a test): everything at once against the built service for SOAK_SECONDS (default
 * 120): single POSTs near capacity, batches, GETs, stream subscribers, bad inputs and clients that
 * drop mid-body. Every transaction answered as stored is kept in a client-side ledger, per second,
 * and the service's per-second series must match it exactly at the end. Prints a report.
 *
 * Run: npm run soak   (SOAK_SECONDS=600 npm run soak for ten minutes)
 *
 * SOAK_STORE=redis runs the service on a Redis of the soak's own (redis-server on a free port,
 * with an append-only file synced on every write) and stops that Redis for SOAK_OUTAGE_SECONDS
 * (default 5) in the middle: requests that need it get 503 meanwhile, and every transaction
 * answered as stored, before or after the outage, must still be counted at the end.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync } from 'node:fs'
import { Agent, get, type IncomingMessage, request } from 'node:http'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const SECONDS = Number(process.env.SOAK_SECONDS ?? 120)
const PORT = Number(process.env.SOAK_PORT ?? 8765)
const WINDOW_MS = 300_000
const STORE = process.env.SOAK_STORE === 'redis' ? 'redis' : 'memory'
const OUTAGE_SECONDS = Number(process.env.SOAK_OUTAGE_SECONDS ?? 5)
const REDIS_PORT = Number(process.env.SOAK_REDIS_PORT ?? 8766)
const BASE = `http://127.0.0.1:${PORT}`
const agent = new Agent({ keepAlive: true, maxSockets: 256 })

interface Ledger {
  count: number
  cents: bigint
}
const ledger = new Map<number, Ledger>()
const served = new Map<string, number>()
let serverErrors = 0 // 5xx, but the 503s of the Redis outage
let unavailable = 0 // 503s while Redis was down
let transportErrors = 0
const latencies: number[] = [] // POST latencies of the current 10 s slice, ms
const p99s: string[] = []
const rss: number[] = []
let running = true
let redisDown = false

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
        if (status === 503 && redisDown) unavailable++
        else if (status >= 500) serverErrors++
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

/** The soak's own Redis, keeping an append-only file synced on every write. */
const redisDir = mkdtempSync(join(tmpdir(), 'soak-redis-'))
function startRedis(): ChildProcess {
  const args = [
    '--port',
    String(REDIS_PORT),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--dir',
    redisDir,
  ]
  return spawn('redis-server', [...args, '--appendonly', 'yes', '--appendfsync', 'always'], {
    stdio: 'ignore',
  })
}

/** Stops Redis in the middle of the run for OUTAGE_SECONDS, then starts it again. */
async function outage(redis: ChildProcess): Promise<ChildProcess> {
  await new Promise((resolve) => setTimeout(resolve, (SECONDS * 1_000) / 2))
  redisDown = true
  redis.kill('SIGTERM')
  await once(redis, 'exit')
  await new Promise((resolve) => setTimeout(resolve, OUTAGE_SECONDS * 1_000))
  const again = startRedis()
  for (let i = 0; i < 100; i++) {
    if ((await call('GET', '/ready')).status === 200) break
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  redisDown = false
  return again
}

async function main(): Promise<void> {
  let redis = STORE === 'redis' ? startRedis() : undefined
  const server = spawn(process.execPath, ['dist/server.js'], {
    env: {
      ...process.env,
      PORT: String(PORT),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      WINDOW_MS: String(WINDOW_MS),
      STORE,
      REDIS_URL: `redis://127.0.0.1:${REDIS_PORT}`,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  })
  for (let i = 0; i < 100; i++) {
    if ((await call('GET', '/ready')).status === 200) break
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
  const restarted = redis ? outage(redis) : undefined
  await new Promise((resolve) => setTimeout(resolve, SECONDS * 1_000))
  if (restarted) redis = await restarted
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
  let lost = 0
  for (const point of series.points.slice(1, -1)) {
    const expected = ledger.get(point.second) ?? { count: 0, cents: 0n }
    checked++
    expectedCount += expected.count
    countedCount += point.count
    lost += Math.max(0, expected.count - point.count)
    if (point.count !== expected.count || point.sum !== Number(expected.cents) / 100) mismatches++
  }
  const stored = [...ledger.values()].reduce((n, e) => n + e.count, 0)
  const requests = [...served.values()].reduce((n, c) => n + c, 0)
  server.kill('SIGTERM')
  redis?.kill('SIGTERM')

  const against =
    STORE === 'redis'
      ? `the Redis store, Redis stopped for ${OUTAGE_SECONDS} s in the middle`
      : 'the memory store'
  console.log(
    `soak: ${SECONDS} s against ${against} (window ${WINDOW_MS / 1000} s), ${((Date.now() - started) / 1000).toFixed(0)} s elapsed`,
  )
  console.log(
    `requests answered      ${requests.toLocaleString('en-US')} (transport errors ${transportErrors})`,
  )
  console.log(`5xx                    ${serverErrors}`)
  if (STORE === 'redis') console.log(`503 while Redis down   ${unavailable}`)
  console.log(`stored (client ledger) ${stored.toLocaleString('en-US')} transactions`)
  console.log(
    `ledger vs series       ${checked} whole seconds compared, ${mismatches} mismatched; ${countedCount.toLocaleString('en-US')} counted vs ${expectedCount.toLocaleString('en-US')} expected`,
  )
  console.log(`lost accepted          ${lost}`)
  console.log(
    `RSS MB                 start ${rss[0]?.toFixed(1)}, peak ${Math.max(...rss).toFixed(1)}, end ${rss.at(-1)?.toFixed(1)}`,
  )
  console.log(`POST p99 ms per 10 s   ${p99s.join(' ')}`)
  const statuses = [...served].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}: ${v}`)
  console.log(`by route and status    ${statuses.join(', ')}`)
  // On Redis, a record Redis ran just as it stopped was answered 503 yet counted: an excess
  // there is reported (counted vs expected) but only a loss fails the run.
  const failed = STORE === 'redis' ? lost > 0 : mismatches > 0
  process.exitCode = serverErrors > 0 || failed ? 1 : 0
}

await main()
