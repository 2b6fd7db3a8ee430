/**
 * Costs under adversarial data (not a test): the most expensive request a client can make
 * against a plain GET in the same run, on each store, and what an honest client gets meanwhile
 * (its p99 and its share of 503s). Prints figures.
 *
 * Run: npm run bench:adversarial   (BENCH_HEAVY=1600000 transactions of one value in one second;
 * BENCH_VALUES=1000,10000 tracked values a breakdown reads; BENCH_ATTACKS=value,breakdown,squat,idempotency,quantiles; BENCH_STORES=memory,redis; Redis from REDIS_URL, a local one whose time is read from INFO
 * commandstats)
 */
import { createHash } from 'node:crypto'
import { Redis } from 'ioredis'
import { QuantileMapping } from '../src/core/quantiles/quantile-mapping.js'
import { BREAKDOWN } from '../src/store/redis/scripts.js'
import { ServiceProcess } from '../test/support/processes.js'
import { processCpuSeconds } from './cpu-time.js'

const HEAVY = Number(process.env.BENCH_HEAVY ?? 1_600_000)
const STORES = (process.env.BENCH_STORES ?? 'memory,redis').split(',')
const ATTACKS = (process.env.BENCH_ATTACKS ?? 'value,breakdown,squat,idempotency,quantiles').split(
  ',',
)
/** New values a second the squatting client sends (one transaction each). */
const SQUAT_RATE = 1_000
const BREAKDOWN_VALUES = (process.env.BENCH_VALUES ?? '1000,10000').split(',').map(Number)
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const REQUESTS = 300
const HONEST_EVERY_MS = 20

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number

/** Redis's own time in its scripts and commands, µs, read from INFO commandstats. */
async function redisMicros(redis: Redis | undefined): Promise<number> {
  if (!redis) return 0
  const text = await redis.info('commandstats')
  let usec = 0
  for (const match of text.matchAll(/usec=(\d+)/g)) usec += Number(match[1])
  return usec
}

interface Cost {
  cpuUs: number
  redisUs: number
}

/** Server CPU and Redis time per request, µs, for `urls` asked one after another. */
async function costPerRequest(
  service: Target,
  urls: readonly string[],
  init?: (i: number) => RequestInit,
): Promise<Cost> {
  const cpu = processCpuSeconds(service.pid)
  const redis = await redisMicros(service.redis)
  for (let i = 0; i < urls.length; i++) {
    await (await fetch(`${service.base}${urls[i]}`, init?.(i))).arrayBuffer()
  }
  return {
    cpuUs: ((processCpuSeconds(service.pid) - cpu) * 1e6) / urls.length,
    redisUs: ((await redisMicros(service.redis)) - redis) / urls.length,
  }
}

interface Target {
  store: string
  base: string
  pid: number
  redis: Redis | undefined
  service: ServiceProcess
  /** What a DELETE needs when API_KEYS is set. */
  headers: Record<string, string>
}

async function start(store: string, env: Record<string, string>): Promise<Target> {
  const onRedis =
    store === 'redis'
      ? {
          STORE: 'redis',
          REDIS_URL,
          REDIS_PREFIX: `txstats-adversarial-${process.pid}-${Date.now()}:`,
        }
      : {}
  const service = new ServiceProcess({ LOG_LEVEL: 'info', ...env, ...onRedis })
  const port = await service.listening()
  const redis = store === 'redis' ? new Redis(REDIS_URL) : undefined
  return {
    store,
    base: `http://127.0.0.1:${port}`,
    pid: service.child.pid as number,
    redis,
    service,
    headers: env.API_KEYS ? { authorization: `Bearer ${env.API_KEYS.split(',')[0]}` } : {},
  }
}

async function stop(target: Target): Promise<void> {
  // The Redis store's keys go with the window; the memory store's with the process.
  await fetch(`${target.base}/transactions`, { method: 'DELETE', headers: target.headers }).catch(
    () => undefined,
  )
  await target.service.stop()
  target.redis?.disconnect()
}

async function post(base: string, path: string, body: unknown, headers = {}) {
  const response = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  })
  await response.arrayBuffer()
  return response.status
}

/**
 * An honest client while `attack` runs: a GET of the statistics and a POST every
 * HONEST_EVERY_MS, one at a time. Its p99 (ms) and the share of its requests answered 503.
 */
async function honestDuring(
  target: Target,
  attack: () => Promise<void>,
  headers: Record<string, string> = {},
): Promise<{ p99: number; refused: number; requests: number }> {
  const latencies: number[] = []
  let refused = 0
  let running = true
  const honest = (async () => {
    while (running) {
      for (const request of [
        () => fetch(`${target.base}/statistics`, { headers }),
        () =>
          fetch(`${target.base}/transactions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...headers },
            body: JSON.stringify({ amount: 1, timestamp: Date.now() }),
          }),
      ]) {
        const started = performance.now()
        const response = await request()
        await response.arrayBuffer()
        latencies.push(performance.now() - started)
        if (response.status === 503) refused++
      }
      await new Promise((resolve) => setTimeout(resolve, HONEST_EVERY_MS))
    }
  })()
  try {
    await attack()
  } finally {
    running = false
    await honest
  }
  const sorted = latencies.sort((a, b) => a - b)
  return {
    p99: sorted[Math.floor(sorted.length * 0.99)] ?? 0,
    refused: refused / Math.max(1, latencies.length),
    requests: latencies.length,
  }
}

function print(store: string, what: string, expensive: Cost, plain: Cost, honest: string): void {
  const redis =
    store === 'redis'
      ? `; Redis ${expensive.redisUs.toFixed(0)} µs a call against ${plain.redisUs.toFixed(0)} µs`
      : ''
  console.log(
    `${store.padEnd(6)} ${what}: server CPU ${expensive.cpuUs.toFixed(0)} µs against ${plain.cpuUs.toFixed(0)} µs for a plain GET (${(expensive.cpuUs / plain.cpuUs).toFixed(2)} ×)${redis}; ${honest}`,
  )
}

const honestText = (h: { p99: number; refused: number; requests: number }) =>
  `an honest client meanwhile: p99 ${h.p99.toFixed(1)} ms, ${(h.refused * 100).toFixed(1)} % of ${h.requests} requests refused 503`

/** Finding: a value's read cut inside a second of millions of its transactions. */
async function heavyValue(store: string): Promise<void> {
  const heavy = store === 'redis' ? Math.min(HEAVY, 200_000) : HEAVY
  const target = await start(store, {
    WINDOW_MS: '300000',
    DIMENSIONS: 'merchant',
    BATCH_MAX_ITEMS: '10000',
    BODY_LIMIT: '16777216',
  })
  try {
    // Every transaction of one value in one second, 5 s ago, every millisecond of it.
    const second = Math.floor(Date.now() / 1000) * 1000 - 5_000
    for (let sent = 0; sent < heavy; sent += 10_000) {
      const items = Array.from({ length: 10_000 }, (_, k) => ({
        amount: ((sent + k) % 1000) / 100,
        timestamp: second + ((sent + k) % 1000),
        merchant: 'heavy',
      }))
      await post(target.base, '/transactions/batch', items)
    }
    const plain = Array.from({ length: REQUESTS }, () => '/statistics')
    // A window whose start falls inside the heavy second, a different one each time, so that no
    // answer is shared.
    const cut = Array.from({ length: REQUESTS }, (_, i) => {
      const windowMs = Date.now() - second - 1 - (i % 900) + 2_000
      return `/statistics?merchant=heavy&windowMs=${windowMs}`
    })
    const rounds: Array<{ plain: Cost; cut: Cost }> = []
    let honest = { p99: 0, refused: 0, requests: 0 }
    for (let round = 0; round < 5; round++) {
      const plainCost = await costPerRequest(target, plain)
      let cutCost: Cost = { cpuUs: 0, redisUs: 0 }
      const during = await honestDuring(target, async () => {
        cutCost = await costPerRequest(target, cut)
      })
      if (round === 2) honest = during
      rounds.push({ plain: plainCost, cut: cutCost })
    }
    const pick = (f: (r: { plain: Cost; cut: Cost }) => Cost): Cost => ({
      cpuUs: median(rounds.map((r) => f(r).cpuUs)),
      redisUs: median(rounds.map((r) => f(r).redisUs)),
    })
    print(
      store,
      `GET of one value with ${heavy.toLocaleString('en-US')} transactions in one second, windowMs cut inside it`,
      pick((r) => r.cut),
      pick((r) => r.plain),
      honestText(honest),
    )
  } finally {
    await stop(target)
  }
}

/**
 * The longest single call Redis ran while `work` ran, µs, and the time of the calls that ran the
 * script `sha` (EVALSHA), from its SLOWLOG (set to log every call meanwhile, then put back); 0
 * without Redis.
 */
async function redisCalls(
  redis: Redis | undefined,
  work: () => Promise<void>,
  sha = '',
): Promise<{ longest: number; scriptUs: number }> {
  if (!redis) {
    await work()
    return { longest: 0, scriptUs: 0 }
  }
  const [, threshold] = (await redis.config('GET', 'slowlog-log-slower-than')) as string[]
  const [, length] = (await redis.config('GET', 'slowlog-max-len')) as string[]
  await redis.config('SET', 'slowlog-log-slower-than', '0')
  await redis.config('SET', 'slowlog-max-len', '1000000')
  await redis.slowlog('RESET')
  try {
    await work()
    const entries = (await redis.slowlog('GET', -1)) as Array<[number, number, number, string[]]>
    let longest = 0
    let scriptUs = 0
    for (const [, , duration, args] of entries) {
      longest = Math.max(longest, duration)
      if (args[0]?.toLowerCase() === 'evalsha' && args[1] === sha) scriptUs += duration
    }
    return { longest, scriptUs }
  } finally {
    await redis.config('SET', 'slowlog-log-slower-than', threshold as string)
    await redis.config('SET', 'slowlog-max-len', length as string)
  }
}

/**
 * The cost of `asked`, one after another, while an honest client runs, against 50 plain GETs
 * before; the longest Redis call meanwhile, and the time of the calls of the script `sha`.
 */
async function costBeside(target: Target, asked: readonly string[], sha = '') {
  const plainCost = await costPerRequest(
    target,
    Array.from({ length: 50 }, () => '/statistics'),
  )
  let cost: Cost = { cpuUs: 0, redisUs: 0 }
  let calls = { longest: 0, scriptUs: 0 }
  const honest = await honestDuring(target, async () => {
    calls = await redisCalls(
      target.redis,
      async () => {
        cost = await costPerRequest(target, asked)
      },
      sha,
    )
  })
  return { plainCost, cost, longest: calls.longest, scriptUs: calls.scriptUs, honest }
}

/**
 * Finding: a read with quantiles of a window where every second holds every bucket of the
 * mapping (QUANTILES=true; the sketches as large as they get), a window cut at another
 * millisecond each time so that no answer is shared.
 */
async function quantiles(store: string): Promise<void> {
  const target = await start(store, {
    QUANTILES: 'true',
    BATCH_MAX_ITEMS: '10000',
    BODY_LIMIT: '16777216',
  })
  try {
    const mapping = new QuantileMapping()
    const amounts = Array.from({ length: mapping.size }, (_, index) =>
      Number(mapping.value(index).toPrecision(6)),
    )
    const start = Date.now() - 59_000
    let sent = 0
    for (let second = 0; second < 60; second++) {
      for (let k = 0; k < amounts.length; k += 10_000) {
        const items = amounts.slice(k, k + 10_000).map((amount, i) => ({
          amount,
          timestamp: start + second * 1_000 + ((k + i) % 1_000),
        }))
        await post(target.base, '/transactions/batch', items)
        sent += items.length
      }
    }
    const asked = Array.from(
      { length: 50 },
      (_, i) => `/statistics?quantiles=0.5,0.99&windowMs=${60_000 - 1 - i * 7}`,
    )
    const { plainCost, cost, longest, honest } = await costBeside(target, asked)
    print(
      store,
      `GET with 2 quantiles of ${sent.toLocaleString('en-US')} transactions, every bucket in every second${store === 'redis' ? ` (longest Redis call ${(longest / 1000).toFixed(1)} ms)` : ''}`,
      cost,
      plainCost,
      honestText(honest),
    )
  } finally {
    await stop(target)
  }
}

/** Finding: a breakdown over as many values as a dimension tracks (1 000 by default). */
async function breakdown(store: string, values: number): Promise<void> {
  const target = await start(store, {
    DIMENSIONS: 'merchant',
    DIMENSION_MAX_VALUES: String(values),
    BATCH_MAX_ITEMS: '10000',
  })
  try {
    const now = Date.now()
    const items = Array.from({ length: values * 5 }, (_, k) => ({
      amount: (k % 997) / 100,
      timestamp: now - (k % 50_000),
      merchant: `m-${k % values}`,
    }))
    for (let k = 0; k < items.length; k += 10_000) {
      await post(target.base, '/transactions/batch', items.slice(k, k + 10_000))
    }
    // A different windowMs each time, so that no answer is shared.
    const asked = Array.from(
      { length: values > 1_000 ? 10 : 50 },
      (_, i) => `/statistics/breakdown?by=merchant&limit=1000&windowMs=${59_000 - i}`,
    )
    const sha = createHash('sha1').update(BREAKDOWN).digest('hex')
    // The first breakdown after the writes sums every value's seconds (the sums it keeps start
    // empty); the others slide those sums: measured apart.
    const first = await redisCalls(
      target.redis,
      async () => {
        await (
          await fetch(`${target.base}/statistics/breakdown?by=merchant&limit=1000`)
        ).arrayBuffer()
      },
      sha,
    )
    const { plainCost, cost, longest, scriptUs, honest } = await costBeside(target, asked, sha)
    const longestText =
      store === 'redis'
        ? `, its steps ${(scriptUs / asked.length / 1000).toFixed(1)} ms of Redis per breakdown (the first ${(first.scriptUs / 1000).toFixed(1)} ms), the longest Redis call meanwhile (any) ${longest} µs`
        : ''
    print(
      store,
      `breakdown over ${values.toLocaleString('en-US')} tracked values${longestText}`,
      cost,
      plainCost,
      honestText(honest),
    )
  } finally {
    await stop(target)
  }
}

/**
 * Finding: tracked values squatted. One client sends a stream of values never seen before (one
 * transaction each, SQUAT_RATE a second); an honest merchant sends a few transactions a second.
 * How often a breakdown lists the honest merchant, and what an attacker's transaction costs.
 */
async function squat(store: string): Promise<void> {
  const target = await start(store, { DIMENSIONS: 'merchant', BATCH_MAX_ITEMS: '10000' })
  const seconds = 20
  try {
    let listed = 0
    let checks = 0
    const batch = (tick: number, fresh: boolean) =>
      Array.from({ length: SQUAT_RATE / 4 }, (_, i) => ({
        amount: 1,
        timestamp: Date.now(),
        merchant: fresh ? `squat-${tick}-${i}` : `known-${i}`,
      }))
    // What a squatting transaction costs, against one of a value already tracked, alone: those
    // are tracked before the squatter comes (measured twice, the first warming up).
    const perTransaction = async (fresh: boolean) => {
      const cpu = processCpuSeconds(target.pid)
      const redis = await redisMicros(target.redis)
      for (let tick = 0; tick < 20; tick++) {
        await post(target.base, '/transactions/batch', batch(1_000 + tick, fresh))
      }
      const sent = (20 * SQUAT_RATE) / 4
      return {
        cpuUs: ((processCpuSeconds(target.pid) - cpu) * 1e6) / sent,
        redisUs: ((await redisMicros(target.redis)) - redis) / sent,
      }
    }
    await perTransaction(false)
    const known = await perTransaction(false)
    const honest = await honestDuring(target, async () => {
      for (let tick = 0; tick < seconds * 4; tick++) {
        const started = Date.now()
        await post(target.base, '/transactions/batch', batch(tick, true))
        // The honest merchant starts once the squatter holds every place.
        if (tick >= 8) {
          await post(target.base, '/transactions', {
            amount: 7,
            timestamp: Date.now(),
            merchant: 'honest-merchant',
          })
        }
        if (tick >= 28 && tick % 2 === 0) {
          const breakdown = (await (
            await fetch(`${target.base}/statistics/breakdown?by=merchant&limit=5`)
          ).json()) as { values: Array<{ value: string }> }
          checks++
          if (breakdown.values.some((v) => v.value === 'honest-merchant')) listed++
        }
        await new Promise((resolve) => setTimeout(resolve, 250 - (Date.now() - started)))
      }
    })
    const squatting = await perTransaction(true)
    const redisText =
      store === 'redis'
        ? `, Redis ${squatting.redisUs.toFixed(1)} µs against ${known.redisUs.toFixed(1)} µs`
        : ''
    console.log(
      `${store.padEnd(6)} ${SQUAT_RATE} new values a second against 1 000 places: the honest merchant listed in ${listed} of ${checks} breakdowns from 2 s after it started; a squatting transaction costs server CPU ${squatting.cpuUs.toFixed(1)} µs against ${known.cpuUs.toFixed(1)} µs for one of a tracked value${redisText}; ${honestText(honest)}`,
    )
  } finally {
    await stop(target)
  }
}

/** Finding: one client filling the idempotency budget. */
async function idempotencyShares(store: string): Promise<void> {
  const keys = ['client-one-0123456789', 'client-two-0123456789']
  const target = await start(store, { API_KEYS: keys.join(','), IDEMPOTENCY_MEMORY_MB: '1' })
  try {
    const batch = Array.from({ length: 10_000 }, () => ({ amount: 1, timestamp: Date.now() }))
    let refusedA = 0
    let refusedB = 0
    const honest = await honestDuring(
      target,
      async () => {
        for (let i = 0; i < 60; i++) {
          const status = await post(target.base, '/transactions/batch', batch, {
            authorization: `Bearer ${keys[0]}`,
            'idempotency-key': `a-${i}`,
          })
          if (status === 503) refusedA++
        }
        for (let i = 0; i < 50; i++) {
          const status = await post(
            target.base,
            '/transactions',
            { amount: 1, timestamp: Date.now() },
            { authorization: `Bearer ${keys[1]}`, 'idempotency-key': `b-${i}` },
          )
          if (status !== 201) refusedB++
        }
      },
      { authorization: `Bearer ${keys[1]}` },
    )
    console.log(
      `${store.padEnd(6)} idempotency, IDEMPOTENCY_MEMORY_MB=1: client A's keyed batches of 10 000 refused 503 ${refusedA} of 60 once its share was spent; client B's keyed POSTs meanwhile refused ${refusedB} of 50; ${honestText(honest)}`,
    )
  } finally {
    await stop(target)
  }
}

for (const store of STORES) {
  if (ATTACKS.includes('value')) await heavyValue(store)
  if (ATTACKS.includes('breakdown')) {
    for (const values of BREAKDOWN_VALUES) await breakdown(store, values)
  }
  if (ATTACKS.includes('squat')) await squat(store)
  if (ATTACKS.includes('idempotency')) await idempotencyShares(store)
  if (ATTACKS.includes('quantiles')) await quantiles(store)
}
