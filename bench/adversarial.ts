/**
 * Costs under adversarial data (not a test): the most expensive request a client can make
 * against a plain GET in the same run, and what honest clients get meanwhile. Prints figures.
 *
 * Run: npm run bench:adversarial   (memory store; BENCH_HEAVY=1600000 transactions of one value
 * in one second)
 */
import { ServiceProcess } from '../test/support/processes.js'
import { processCpuSeconds } from './cpu-time.js'

const HEAVY = Number(process.env.BENCH_HEAVY ?? 1_600_000)
const REQUESTS = 300

/** Server CPU per request, µs, for `urls` asked one after another (one connection). */
async function cpuPerRequest(pid: number, base: string, urls: readonly string[]): Promise<number> {
  const before = processCpuSeconds(pid)
  for (const url of urls) await (await fetch(`${base}${url}`)).arrayBuffer()
  return ((processCpuSeconds(pid) - before) * 1e6) / urls.length
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

async function heavyValue(): Promise<void> {
  const service = new ServiceProcess({
    LOG_LEVEL: 'info',
    WINDOW_MS: '300000',
    DIMENSIONS: 'merchant',
    BATCH_MAX_ITEMS: '10000',
    BODY_LIMIT: '16777216',
  })
  const port = await service.listening()
  const base = `http://127.0.0.1:${port}`
  const pid = service.child.pid as number
  try {
    // Every transaction of one value in one second, 5 s ago, every millisecond of it.
    const second = Math.floor(Date.now() / 1000) * 1000 - 5_000
    for (let sent = 0; sent < HEAVY; sent += 10_000) {
      const items = Array.from({ length: 10_000 }, (_, k) => ({
        amount: ((sent + k) % 1000) / 100,
        timestamp: second + ((sent + k) % 1000),
        merchant: 'heavy',
      }))
      await post(base, '/transactions/batch', items)
    }
    const plain = Array.from({ length: REQUESTS }, () => '/statistics')
    // A window whose start falls inside the heavy second, a different one each time, so that no
    // answer is shared.
    const cut = Array.from({ length: REQUESTS }, (_, i) => {
      const windowMs = Date.now() - second - 1 - (i % 900) + 2_000
      return `/statistics?merchant=heavy&windowMs=${windowMs}`
    })
    const rounds: Array<{ plain: number; cut: number }> = []
    for (let round = 0; round < 5; round++) {
      rounds.push({
        plain: await cpuPerRequest(pid, base, plain),
        cut: await cpuPerRequest(pid, base, cut),
      })
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number
    const count = (
      (await (await fetch(`${base}/statistics?merchant=heavy`)).json()) as {
        count: number
      }
    ).count
    console.log(
      `one value with ${count.toLocaleString('en-US')} transactions in one second: GET of it with windowMs cut inside that second ${median(rounds.map((r) => r.cut)).toFixed(0)} µs of CPU, plain GET ${median(rounds.map((r) => r.plain)).toFixed(0)} µs: ${median(rounds.map((r) => r.cut / r.plain)).toFixed(2)} × (median of 5 paired rounds of ${REQUESTS})`,
    )
  } finally {
    await service.stop()
  }
}

async function idempotencyShares(): Promise<void> {
  const keys = ['client-one-0123456789', 'client-two-0123456789']
  const service = new ServiceProcess({
    LOG_LEVEL: 'info',
    API_KEYS: keys.join(','),
    IDEMPOTENCY_MEMORY_MB: '1',
  })
  const base = `http://127.0.0.1:${await service.listening()}`
  try {
    const batch = Array.from({ length: 10_000 }, () => ({ amount: 1, timestamp: Date.now() }))
    let refusedA = 0
    for (let i = 0; i < 60; i++) {
      const status = await post(base, '/transactions/batch', batch, {
        authorization: `Bearer ${keys[0]}`,
        'idempotency-key': `a-${i}`,
      })
      if (status === 503) refusedA++
    }
    let refusedB = 0
    for (let i = 0; i < 50; i++) {
      const status = await post(
        base,
        '/transactions',
        { amount: 1, timestamp: Date.now() },
        { authorization: `Bearer ${keys[1]}`, 'idempotency-key': `b-${i}` },
      )
      if (status !== 201) refusedB++
    }
    console.log(
      `idempotency, IDEMPOTENCY_MEMORY_MB=1: client A's keyed batches of 10 000 refused 503 ${refusedA} of 60 once its share was spent; client B's keyed POSTs meanwhile refused ${refusedB} of 50`,
    )
  } finally {
    await service.stop()
  }
}

await heavyValue()
await idempotencyShares()
