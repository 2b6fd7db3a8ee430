/**
 * HTTP benchmark (not a test): the service beside bare Fastify (the framework's ceiling) and raw
 * node:http (the runtime's ceiling), loaded in interleaved rounds, then bulk ingest, snapshot cost
 * with an empty vs a full window, and memory after millions of transactions. Prints figures.
 *
 * Run: npm run bench:http   (BENCH_SECONDS=3 BENCH_ROUNDS=7 by default; BENCH_PHASES picks among
 * compare,instructions,batch,o1,quantiles,streams,memory,redis,keyed,redis-memory,dimensions (instructions
 * counts each request's instructions under valgrind's callgrind, see bench/instructions.ts:
 * BENCH_WARM_REQUESTS, BENCH_COUNTED_REQUESTS); the Redis phases use
 * REDIS_URL; DIMENSION_SOAK_SECONDS (120) is how long the dimensions phase posts before its RSS; BENCH_NODE
 * names another Node.js binary for the servers; BENCH_BASELINE other built checkouts (comma-separated)
 * and BENCH_BASELINE_NODE another Node.js binary, loaded beside them in the compare and instructions phases)
 * Load comes from wrk (apt-get install wrk), one thread. Servers are pinned to CPU 1 with taskset
 * and the load generator runs on CPU 0.
 *
 * The compare phase runs the service twice (an A/A pair: its two copies must agree within 3 %, or
 * the run cannot tell 5 % apart), preloads the service's warm-up of nextTick into every other target
 * (see src/tick-queue-warm-up.ts), counts the CPU that processes other than the target and wrk used
 * during each load (a busy neighbour is said, not hidden) and prints each figure's spread.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { get } from 'node:http'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { freePort } from '../test/support/processes.js'
import { machineSeconds, ownCpuSeconds, processCpuSeconds } from './cpu-time.js'
import { type CountedTarget, callgrindAvailable, printInstructionsPhase } from './instructions.js'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7)
const CONNECTIONS = 64
const BATCH = 1000
const SUBSCRIBERS = 1000
const PHASES = (
  process.env.BENCH_PHASES ??
  'compare,instructions,batch,o1,quantiles,streams,memory,redis,keyed,redis-memory,dimensions'
).split(',')
const DIMENSION_SOAK_SECONDS = Number(process.env.DIMENSION_SOAK_SECONDS ?? 120)
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const wants = (phase: string) => PHASES.includes(phase)
/** The Node.js binary the servers run on (BENCH_NODE, e.g. from scripts/node-binary.sh 24). */
const SERVER_NODE = process.env.BENCH_NODE ?? process.execPath
/**
 * Baselines for the compare phase, loaded in the same run: other built checkouts of the service
 * (BENCH_BASELINE=/path/to/checkout[,/path/to/another]), so a change is measured against the code
 * before it, and/or another Node.js binary for them (BENCH_BASELINE_NODE), so versions are compared
 * on the same code.
 */
const BASELINES = (process.env.BENCH_BASELINE ?? (process.env.BENCH_BASELINE_NODE ? '.' : ''))
  .split(',')
  .filter((path) => path !== '')
const BASELINE_NODE = process.env.BENCH_BASELINE_NODE ?? SERVER_NODE
const PINNED = spawnSync('taskset', ['-c', '1', 'true']).status === 0
/** The service's warm-up of process.nextTick, as built, preloaded into the compare phase's other targets. */
const WARM_UP = pathToFileURL(resolve('dist/tick-queue-warm-up.js')).href

interface Target {
  name: string
  url: string
  process: ChildProcess
  /** The local redis-server the target uses, whose CPU time is counted beside its own. */
  redisPid?: number
}

interface Figures {
  rps: number
  p50: number
  p99: number
  errors: number
  /** CPU time of the target per request, µs */
  cpuUs: number
  /** CPU time of its Redis per request, µs; NaN without one (or a Redis elsewhere). */
  redisCpuUs: number
  /**
   * CPU time used during the run by every other process on the machine (neither the target, its
   * Redis, wrk nor this script), as a share of one core: a neighbour that skews the figures.
   */
  othersShare: number
  /** Time the hypervisor took from this machine's CPUs during the run, as a share of one core. */
  stealShare: number
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1] ?? NaN

async function start(
  name: string,
  args: string[],
  env: Record<string, string> = {},
  pin = PINNED,
  node = SERVER_NODE,
): Promise<Target> {
  const port = await freePort()
  const command = pin ? 'taskset' : node
  const argv = pin ? ['-c', '1', node, ...args] : args
  const child = spawn(command, argv, {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  const url = `http://127.0.0.1:${port}`
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(`${url}/statistics`)
      return { name, url, process: child }
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  throw new Error(`${name} did not start`)
}

const startService = (name = 'service') => start(name, ['dist/server.js'])

/**
 * The targets the compare and instructions phases load: the service twice (an A/A pair), bare
 * Fastify, raw node:http and the baselines. Every one but the service starts with this build's
 * warm-up of nextTick preloaded, as the service does (src/tick-queue-warm-up.ts): without it, a
 * process's speed on Node 20 depends on whether nextTick's feedback turned megamorphic at startup,
 * and builds would be compared by that chance rather than by their code.
 */
function comparedTargets(): CountedTarget[] {
  const warm = ['--import', WARM_UP]
  const bench = (file: string) => [...warm, '--import', 'tsx', file]
  return [
    { name: 'service', args: ['dist/server.js'], node: SERVER_NODE },
    { name: 'service (A/A)', args: ['dist/server.js'], node: SERVER_NODE },
    { name: 'bare fastify', args: bench('bench/targets/bare-fastify.ts'), node: SERVER_NODE },
    { name: 'raw node:http', args: bench('bench/targets/raw-http.ts'), node: SERVER_NODE },
    ...BASELINES.map((checkout) => ({
      name: baselineName(checkout),
      args: [...warm, `${checkout}/dist/server.js`],
      node: BASELINE_NODE,
    })),
  ]
}

/** The service on the Redis store, under a prefix of its own. */
async function startOnRedis(
  name: string,
  env: Record<string, string> = {},
  pin = PINNED,
): Promise<Target> {
  const target = await start(
    name,
    ['dist/server.js'],
    { STORE: 'redis', REDIS_URL, REDIS_PREFIX: `bench:${Date.now()}:${name}:`, ...env },
    pin,
  )
  const redisPid = await localRedisPid()
  return redisPid === undefined ? target : { ...target, redisPid }
}

/** The process id of the Redis at REDIS_URL when it runs on this machine. */
async function localRedisPid(): Promise<number | undefined> {
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(new URL(REDIS_URL).hostname)) return undefined
  const { Redis } = await import('ioredis')
  const client = new Redis(REDIS_URL)
  const info = await client.info('server')
  client.disconnect()
  return Number(/process_id:(\d+)/.exec(info)?.[1]) || undefined
}

/** A batch of transactions; with `merchants`, each with a currency and one of that many merchants. */
function batchBody(i: number, size = BATCH, merchants = 0): string {
  const now = Date.now()
  const items = new Array<string>(size)
  for (let k = 0; k < size; k++) {
    const labels =
      merchants === 0 ? '' : `,"currency":"C${k % 10}","merchant":"m-${(i + k) % merchants}"`
    items[k] =
      `{"amount":${((i + k * 7919) % 100_000) / 100},"timestamp":${now - (k % 1000)}${labels}}`
  }
  return `[${items.join(',')}]`
}

type Scenario =
  | 'post'
  | 'keyed'
  | 'get'
  | 'quantiles'
  | 'batch'
  | 'livebatch'
  | 'dimensioned'
  | 'value'
  | 'breakdown'

/** One wrk run (one thread, on CPU 0 with this script); see bench/load.lua. */
function load(
  target: Target,
  scenario: Scenario,
  seconds: number,
  connections = CONNECTIONS,
): Figures {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '-s', 'bench/load.lua', target.url]
  const cpuBefore = cpuSeconds(target)
  const redisCpuBefore = redisCpuSeconds(target)
  const machineBefore = machineSeconds()
  const ownBefore = ownCpuSeconds()
  const wallBefore = performance.now()
  const run = spawnSync('wrk', [...args, '--', scenario, String(Date.now()), String(BATCH)], {
    encoding: 'utf8',
  })
  if (run.error) throw new Error(`wrk could not run (${run.error.message}): apt-get install wrk`)
  const line = run.stdout.trim().split('\n').at(-1) ?? ''
  if (run.status !== 0 || !line.startsWith('{'))
    throw new Error(`wrk failed: ${run.stderr}${run.stdout}`)
  const result = JSON.parse(line) as {
    requests: number
    duration_us: number
    p50_us: number
    p99_us: number
    errors: number
  }
  const cpu = cpuSeconds(target) - cpuBefore
  const redisCpu = redisCpuSeconds(target) - redisCpuBefore
  const machineAfter = machineSeconds()
  const elapsed = (performance.now() - wallBefore) / 1000
  const others =
    machineAfter.busy -
    machineBefore.busy -
    cpu -
    (Number.isNaN(redisCpu) ? 0 : redisCpu) -
    (ownCpuSeconds() - ownBefore)
  return {
    rps: result.requests / (result.duration_us / 1e6),
    p50: result.p50_us / 1000,
    p99: result.p99_us / 1000,
    errors: result.errors,
    cpuUs: (cpu * 1e6) / result.requests,
    redisCpuUs: (redisCpu * 1e6) / result.requests,
    othersShare: Math.max(0, others / elapsed),
    stealShare: (machineAfter.steal - machineBefore.steal) / elapsed,
  }
}

function redisCpuSeconds(target: Target): number {
  return target.redisPid === undefined ? Number.NaN : processCpuSeconds(target.redisPid)
}

/**
 * The CPU time the target's processes have used (user + system, from /proc: the process and its
 * children, e.g. the workers of WORKERS=2): per request, it varies far less than requests/s on a
 * machine whose neighbours come and go. NaN where /proc is missing.
 */
function cpuSeconds(target: Target): number {
  const pid = target.process.pid
  return pid === undefined ? Number.NaN : processCpuSeconds(pid)
}

/**
 * fetch, once more on a connection error: a pooled keep-alive connection may have been closed by
 * the server's keep-alive timeout while wrk ran.
 */
async function retrying(url: string, init?: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init)
  } catch {
    return fetch(url, init)
  }
}

async function statistics(target: Target): Promise<{ count: number }> {
  return (await (await retrying(`${target.url}/statistics`)).json()) as { count: number }
}

async function clear(target: Target): Promise<void> {
  await retrying(`${target.url}/transactions`, { method: 'DELETE' })
}

/** Opens `count` SSE subscribers at a 1 s interval; resolves once each has its first event. */
async function subscribe(target: Target, count: number): Promise<() => void> {
  const responses = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
          get(`${target.url}/statistics/stream?interval=1000`, { agent: false }, (response) => {
            response.once('data', () => resolve(response))
            response.on('data', () => {})
          }).on('error', reject)
        }),
    ),
  )
  return () => {
    for (const response of responses) response.destroy()
  }
}

/** taskset execs node, so the child's pid is the server's. */
function rssMb(target: Target): number {
  const status = readFileSync(`/proc/${target.process.pid}/status`, 'utf8')
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN)
  return kb / 1024
}

async function ingest(target: Target, count: number, merchants = 0): Promise<void> {
  let sent = 0
  const post = async () => {
    while (sent < count) {
      const size = Math.min(BATCH, count - sent)
      sent += size
      const response = await retrying(`${target.url}/transactions/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: batchBody(sent, size, merchants),
      })
      await response.arrayBuffer()
    }
  }
  await Promise.all(Array.from({ length: 8 }, post))
}

const fmt = (n: number, digits = 0) =>
  Number.isFinite(n)
    ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : 'n/a'

/** Every target's figures of every round, the rounds interleaved: A B C A B C. */
function compare(targets: Target[], scenario: Scenario): Map<string, Figures[]> {
  for (const target of targets) load(target, scenario, 2) // warm-up
  const rounds = new Map<string, Figures[]>(targets.map((t) => [t.name, []]))
  for (let round = 0; round < ROUNDS; round++) {
    // Each round starts with the next target, so no target always goes first.
    const order = targets.map((_, i) => targets[(i + round) % targets.length] as Target)
    for (const target of order) rounds.get(target.name)?.push(load(target, scenario, SECONDS))
  }
  return rounds
}

function medians(list: Figures[]): Figures {
  return {
    rps: median(list.map((f) => f.rps)),
    p50: median(list.map((f) => f.p50)),
    p99: median(list.map((f) => f.p99)),
    errors: list.reduce((sum, f) => sum + f.errors, 0),
    cpuUs: median(list.map((f) => f.cpuUs)),
    redisCpuUs: median(list.map((f) => f.redisCpuUs)),
    othersShare: Math.max(...list.map((f) => f.othersShare)),
    stealShare: Math.max(...list.map((f) => f.stealShare)),
  }
}

/** A figure's spread over rounds: (largest − smallest) / median. */
function spread(list: Figures[], figure: 'rps' | 'cpuUs'): number {
  const values = list.map((f) => f[figure])
  return (Math.max(...values) - Math.min(...values)) / median(values)
}

/**
 * The median over rounds of a target's figure divided by the baseline's in the same round: the
 * two ran seconds apart, so drift of the shared machine between rounds cancels out.
 */
function pairedRatio(
  list: Figures[],
  baseline: Figures[],
  figure: 'rps' | 'p99' | 'cpuUs',
): number {
  return median(list.map((f, round) => f[figure] / (baseline[round]?.[figure] ?? Number.NaN)))
}

/** A busy neighbour: other processes used more than this share of a core during a load. */
const BUSY_NEIGHBOUR = 0.05

/**
 * Each target's medians and spreads, then its req/s as a paired ratio to each baseline, its p99
 * as one to the first baseline's and its CPU per request to each; every baseline ran in the same
 * rounds. Then what else ran on the machine meanwhile.
 */
function printRatios(title: string, rounds: Map<string, Figures[]>, baselines: string[]): void {
  const [first = '', ...others] = baselines
  const ratios = [
    { head: `vs ${first} req/s`, of: first, figure: 'rps' as const },
    { head: `p99 / ${first} p99`, of: first, figure: 'p99' as const },
    ...others.map((of) => ({ head: `vs ${of} req/s`, of, figure: 'rps' as const })),
    ...baselines.map((of) => ({ head: `CPU / ${of} CPU`, of, figure: 'cpuUs' as const })),
  ]
  console.log(
    `\n${title}  (${CONNECTIONS} connections, ${ROUNDS} interleaved rounds of ${SECONDS} s: medians, spreads as (max − min) / median, and ratios as the median of each round's ratio)`,
  )
  // On a machine shared with Redis, Redis's CPU comes out of the same cores as the service's.
  const withRedis = [...rounds.values()].some((list) => list.some((f) => f.redisCpuUs >= 0))
  const width = Math.max(17, ...[...rounds.keys()].map((name) => name.length))
  console.log(
    `${'target'.padEnd(width)} ${'req/s'.padStart(7)} spread  p50 ms  p99 ms  CPU µs/req spread  ${ratios.map((r) => r.head).join('  ')}  errors${withRedis ? '  Redis CPU µs/req' : ''}`,
  )
  for (const [name, list] of rounds) {
    const f = medians(list)
    const redisCpu = withRedis ? `  ${fmt(f.redisCpuUs, 1).padStart(16)}` : ''
    const cells = ratios.map(({ head, of, figure }) => {
      const ratio = pairedRatio(list, rounds.get(of) ?? [], figure)
      return figure === 'p99'
        ? fmt(ratio, 2).padStart(head.length)
        : `${fmt(100 * ratio, 1)} %`.padStart(head.length)
    })
    const rpsSpread = `${fmt(100 * spread(list, 'rps'), 1)} %`
    const cpuSpread = `${fmt(100 * spread(list, 'cpuUs'), 1)} %`
    console.log(
      `${name.padEnd(width)} ${fmt(f.rps).padStart(7)} ${rpsSpread.padStart(6)}  ${fmt(f.p50, 1).padStart(6)}  ${fmt(f.p99, 1).padStart(6)}  ${fmt(f.cpuUs, 1).padStart(10)} ${cpuSpread.padStart(6)}  ${cells.join('  ')}  ${String(f.errors).padStart(6)}${redisCpu}`,
    )
  }
  const loads = [...rounds.values()].flat()
  const busy = loads.filter((f) => f.othersShare > BUSY_NEIGHBOUR).length
  const most = Math.max(...loads.map((f) => f.othersShare))
  const stolen = loads.filter((f) => f.stealShare > BUSY_NEIGHBOUR).length
  const mostStolen = Math.max(...loads.map((f) => f.stealShare))
  console.log(
    busy === 0
      ? `machine: no other process busy (at most ${fmt(100 * most, 1)} % of a core during any load)`
      : `machine: NOT QUIET: other processes used over ${fmt(100 * BUSY_NEIGHBOUR)} % of a core during ${busy} of ${loads.length} loads (at most ${fmt(100 * most, 1)} %): the figures may be skewed`,
  )
  if (stolen > 0) {
    console.log(
      `machine: the hypervisor took over ${fmt(100 * BUSY_NEIGHBOUR)} % of a core (steal) during ${stolen} of ${loads.length} loads (at most ${fmt(100 * mostStolen, 1)} %): its neighbours come and go, so trust the paired ratios, not the absolute figures`,
    )
  }
}

/** The A/A tolerance: two copies of one build must agree this closely for the run to count. */
const AA_TOLERANCE = 0.03

/**
 * The A/A check: the same build loaded as two targets in the same rounds. Their paired ratios of
 * req/s and of CPU per request are what this run cannot tell apart; printed with a verdict.
 */
function printAaCheck(rounds: Map<string, Figures[]>, a: string, b: string): boolean {
  const rps = pairedRatio(rounds.get(b) ?? [], rounds.get(a) ?? [], 'rps')
  const cpu = pairedRatio(rounds.get(b) ?? [], rounds.get(a) ?? [], 'cpuUs')
  const worst = Math.max(Math.abs(rps - 1), Math.abs(cpu - 1))
  const verdict = worst <= AA_TOLERANCE ? 'PASS' : 'FAIL'
  console.log(
    `A/A check (${b} / ${a}, the same build): req/s ${fmt(100 * rps, 1)} %, CPU per request ${fmt(100 * cpu, 1)} %: ${verdict} (within ${fmt(100 * AA_TOLERANCE)} % is required to trust a difference of 5 %)`,
  )
  return verdict === 'PASS'
}

/** A baseline checkout's name: its commit, where it is a git checkout, else its path. */
function baselineName(checkout: string): string {
  const commit = spawnSync('git', ['-C', checkout, 'rev-parse', '--short', 'HEAD'], {
    encoding: 'utf8',
  })
  return commit.status === 0 ? `baseline ${commit.stdout.trim()}` : `baseline ${checkout}`
}

/** Redis's own figure for the memory it uses, in MB. */
async function redisUsedMb(): Promise<number> {
  const { Redis } = await import('ioredis')
  const client = new Redis(REDIS_URL)
  const info = await client.info('memory')
  client.disconnect()
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? Number.NaN) / 1024 / 1024
}

async function main(): Promise<void> {
  console.log(
    `servers on node ${spawnSync(SERVER_NODE, ['--version']).stdout.toString().trim()}; servers ${PINNED ? 'pinned to CPU 1, load generator on CPU 0' : 'not pinned (no taskset)'}`,
  )
  const stopAll: Target[] = []
  try {
    if (wants('compare')) {
      const version = spawnSync(BASELINE_NODE, ['--version']).stdout.toString().trim()
      for (const checkout of BASELINES) {
        console.log(`${baselineName(checkout)}: ${checkout}/dist/server.js on node ${version}`)
      }
      const targets: Target[] = []
      for (const { name, args, node } of comparedTargets()) {
        targets.push(await start(name, args, {}, PINNED, node))
      }
      const [service, twin, ...baselines] = targets.map((target) => target.name)
      stopAll.push(...targets)
      const stateless = new Set(['bare fastify', 'raw node:http'])
      for (const [title, scenario] of [
        ['POST /transactions', 'post'],
        ['GET /statistics', 'get'],
      ] as const) {
        const rounds = compare(targets, scenario)
        printRatios(title, rounds, baselines)
        printAaCheck(rounds, service as string, twin as string)
        for (const target of targets) if (!stateless.has(target.name)) await clear(target)
      }
      for (const target of targets) target.process.kill('SIGTERM')
    }

    // Instructions per request: what the machine's pace cannot move, for differences req/s cannot see.
    if (wants('instructions')) {
      if (!callgrindAvailable()) {
        console.log('\ninstructions: skipped (valgrind is not installed: apt-get install valgrind)')
      } else {
        // Raw node:http is left out: its instructions say nothing a build could change.
        const targets = comparedTargets().filter(({ name }) => name !== 'raw node:http')
        const baselines = targets.slice(2).map(({ name }) => name)
        await printInstructionsPhase(targets, baselines, PINNED)
      }
    }

    // Bulk ingest: every transaction sent must be stored, so count them.
    if (wants('batch')) {
      const service = await startService('batch')
      stopAll.push(service)
      await clear(service)
      load(service, 'batch', 2, 8)
      await clear(service)
      const batch = load(service, 'batch', SECONDS, 8)
      const stored = (await statistics(service)).count
      console.log(`\nPOST /transactions/batch  (batches of ${BATCH}, 8 connections, ${SECONDS} s)`)
      console.log(
        `${fmt(batch.rps)} batches/s = ${fmt(batch.rps * BATCH)} transactions/s; p50 ${fmt(batch.p50, 1)} ms, p99 ${fmt(batch.p99, 1)} ms; stored ${fmt(stored)} (${fmt(stored / SECONDS)} per second of load), errors ${batch.errors}`,
      )

      service.process.kill('SIGTERM')
    }

    // O(1) over HTTP: GET on an empty window beside GET on a window of 1 000 000 transactions.
    if (wants('o1')) {
      const empty = await startService('empty window')
      const full = await startService('1 M window')
      stopAll.push(empty, full)
      await ingest(full, 1_000_000)
      for (const target of [empty, full]) load(target, 'get', 2)
      const rounds: Array<{ empty: number; full: number }> = []
      for (let round = 0; round < ROUNDS; round++) {
        rounds.push({
          empty: load(empty, 'get', SECONDS).p50,
          full: load(full, 'get', SECONDS).p50,
        })
      }
      const pEmpty = median(rounds.map((r) => r.empty))
      const pFull = median(rounds.map((r) => r.full))
      const ratio = median(rounds.map((r) => r.full / r.empty))
      console.log(
        `\nGET /statistics, empty window vs 1 000 000 transactions in the window (${ROUNDS} interleaved rounds of ${SECONDS} s: median p50, and the median of each round's ratio)`,
      )
      console.log(
        `empty ${fmt(pEmpty, 3)} ms, full ${fmt(pFull, 3)} ms (count ${fmt((await statistics(full)).count)}), full / empty ${fmt(ratio, 3)}`,
      )

      empty.process.kill('SIGTERM')
      full.process.kill('SIGTERM')
    }

    // Quantiles: GET with three beside the plain GET, on one window of 1 000 000 transactions.
    if (wants('quantiles')) {
      const target = await startService('1 M window, quantiles')
      stopAll.push(target)
      await ingest(target, 1_000_000)
      for (const scenario of ['get', 'quantiles'] as const) load(target, scenario, 2)
      const rounds: Array<{ plain: number; quantiles: number }> = []
      for (let round = 0; round < ROUNDS; round++) {
        rounds.push({
          plain: load(target, 'get', SECONDS).p50,
          quantiles: load(target, 'quantiles', SECONDS).p50,
        })
      }
      console.log(
        `\nGET /statistics?quantiles=0.5,0.9,0.99 vs GET /statistics, 1 000 000 transactions in the window (${ROUNDS} interleaved rounds of ${SECONDS} s: median p50, and the median of each round's ratio)`,
      )
      console.log(
        `plain ${fmt(median(rounds.map((r) => r.plain)), 3)} ms, with quantiles ${fmt(median(rounds.map((r) => r.quantiles)), 3)} ms (count ${fmt((await statistics(target)).count)}), ratio ${fmt(median(rounds.map((r) => r.quantiles / r.plain)), 3)}`,
      )
      target.process.kill('SIGTERM')
    }

    // Stream subscribers beside the POST load: 1 000 at a 1 s interval, interleaved with none.
    if (wants('streams')) {
      const streaming = await startService('streaming')
      stopAll.push(streaming)
      load(streaming, 'post', 2)
      const without: number[] = []
      const withSubscribers: number[] = []
      for (let round = 0; round < ROUNDS; round++) {
        without.push(load(streaming, 'post', SECONDS).rps)
        const close = await subscribe(streaming, SUBSCRIBERS)
        withSubscribers.push(load(streaming, 'post', SECONDS).rps)
        close()
        await new Promise((resolve) => setTimeout(resolve, 500))
      }
      const alone = median(without)
      const shared = median(withSubscribers)
      console.log(
        `\nPOST /transactions beside ${fmt(SUBSCRIBERS)} stream subscribers at 1 s (median of ${ROUNDS} interleaved rounds)`,
      )
      console.log(
        `without ${fmt(alone)} req/s, with ${fmt(shared)} req/s: ${fmt((100 * shared) / alone, 1)} %`,
      )

      streaming.process.kill('SIGTERM')
    }

    // Memory: RSS after the first 10 000 transactions and after 10 000 000.
    if (wants('memory')) {
      const memory = await startService('memory')
      stopAll.push(memory)
      await ingest(memory, 10_000)
      const rssStart = rssMb(memory)
      await ingest(memory, 10_000_000 - 10_000)
      const rssEnd = rssMb(memory)
      console.log('\nResident memory of the service')
      console.log(
        `after 10 000 transactions ${fmt(rssStart, 1)} MB, after 10 000 000 ${fmt(rssEnd, 1)} MB: +${fmt(rssEnd - rssStart, 1)} MB`,
      )
    }

    // The Redis store beside the memory store, same rounds: one instance on each (on CPU 1, Redis
    // where the scheduler puts it), then WORKERS=2 on Redis, unpinned since its two processes
    // need both cores (so it also competes with the load generator).
    if (wants('redis')) {
      const memory = await startService('memory')
      const redis = await startOnRedis('redis')
      // What quantiles' sketches cost the service and Redis, beside the default.
      const quantiles = await startOnRedis('redis, QUANTILES=true', { QUANTILES: 'true' })
      const workers = await startOnRedis('redis, 2 workers', { WORKERS: '2' }, false)
      const targets = [memory, redis, quantiles, workers]
      stopAll.push(...targets)
      printRatios('POST /transactions, memory vs Redis store', compare(targets, 'post'), ['memory'])
      printRatios('GET /statistics, memory vs Redis store', compare(targets, 'get'), ['memory'])
      console.log(
        `\nPOST /transactions/batch on Redis  (batches of ${BATCH}, 8 connections, ${SECONDS} s; CPU is the service's)`,
      )
      for (const [scenario, timestamps] of [
        ['batch', 'spread over 1 s'],
        ['livebatch', 'within 5 ms'],
      ] as const) {
        await clear(redis)
        load(redis, scenario, 2, 8)
        await clear(redis)
        const batch = load(redis, scenario, SECONDS, 8)
        const stored = (await statistics(redis)).count
        console.log(
          `timestamps ${timestamps}: ${fmt(batch.rps)} batches/s = ${fmt(batch.rps * BATCH)} transactions/s; CPU ${fmt(batch.cpuUs / BATCH, 2)} µs per transaction; p99 ${fmt(batch.p99, 1)} ms; stored ${fmt(stored)}, errors ${batch.errors}`,
        )
      }
      for (const target of targets) target.process.kill('SIGTERM')
    }

    // Requests with an Idempotency-Key (each its own) against requests without, on the same
    // service in the same rounds: what remembering keys costs, on each store.
    if (wants('keyed')) {
      const memory = await startService('memory')
      const redis = await startOnRedis('redis')
      stopAll.push(memory, redis)
      console.log(
        '\nPOST /transactions with an Idempotency-Key each, against without (paired rounds)',
      )
      for (const target of [memory, redis]) {
        load(target, 'post', 2)
        load(target, 'keyed', 2)
        const ratios: number[] = []
        const rates = { post: [] as number[], keyed: [] as number[] }
        for (let round = 0; round < ROUNDS; round++) {
          const order: Scenario[] = round % 2 === 0 ? ['post', 'keyed'] : ['keyed', 'post']
          const figures = new Map(
            order.map((scenario) => [scenario, load(target, scenario, SECONDS)]),
          )
          const keyed = figures.get('keyed') as Figures
          const plain = figures.get('post') as Figures
          rates.post.push(plain.rps)
          rates.keyed.push(keyed.rps)
          ratios.push(keyed.rps / plain.rps)
        }
        console.log(
          `${target.name} store: ${fmt(median(rates.keyed))} req/s keyed, ${fmt(median(rates.post))} without: ${fmt(median(ratios) * 100, 1)} %`,
        )
      }
      for (const target of [memory, redis]) target.process.kill('SIGTERM')
    }

    // Redis's memory: used_memory after the first 10 000 transactions and after 1 000 000.
    if (wants('redis-memory')) {
      const service = await startOnRedis('redis memory')
      stopAll.push(service)
      const before = await redisUsedMb()
      await ingest(service, 10_000)
      const first = await redisUsedMb()
      const started = Date.now()
      await ingest(service, 1_000_000 - 10_000)
      const seconds = (Date.now() - started) / 1000
      const last = await redisUsedMb()
      console.log('\nRedis used_memory (INFO memory), one service on the Redis store')
      console.log(
        `before ${fmt(before, 1)} MB; after 10 000 transactions ${fmt(first, 1)} MB; after 1 000 000 ${fmt(last, 1)} MB (+${fmt(last - first, 1)} MB; ingested in ${fmt(seconds, 1)} s = ${fmt(990_000 / seconds)} transactions/s; count ${fmt((await statistics(service)).count)})`,
      )
      service.process.kill('SIGTERM')
    }

    // Dimensions (currency and merchant): POST with both against bare Fastify; a merchant's GET
    // and the breakdown against the plain GET on the same window of 1 000 live merchants; then
    // memory after minutes of POSTs, and after 10 000 000 transactions over 100 000 merchants.
    if (wants('dimensions')) {
      const env = { DIMENSIONS: 'currency,merchant' }
      const dimensioned = await start('dimensions', ['dist/server.js'], env)
      const bare = await start('bare fastify', ['--import', 'tsx', 'bench/targets/bare-fastify.ts'])
      stopAll.push(dimensioned, bare)
      printRatios(
        'POST /transactions with currency and merchant (1 000 merchants, 10 currencies)',
        compare([dimensioned, bare], 'dimensioned'),
        ['bare fastify'],
      )
      bare.process.kill('SIGTERM')
      for (const scenario of ['dimensioned', 'get', 'value', 'breakdown'] as const) {
        load(dimensioned, scenario, 2)
      }
      // Latency (one connection: p50 is the time of one request) and under load (64 connections).
      const live = (await (
        await retrying(`${dimensioned.url}/statistics/breakdown?by=merchant&limit=1000`)
      ).json()) as { values: unknown[] }
      console.log(
        `\nGET /statistics?merchant=… and GET /statistics/breakdown?by=merchant&limit=10 vs GET /statistics, ${fmt(live.values.length)} live merchants, ${fmt((await statistics(dimensioned)).count)} transactions (${ROUNDS} interleaved rounds of ${SECONDS} s: median p50, and the median of each round's ratio)`,
      )
      for (const connections of [1, CONNECTIONS]) {
        const rounds: Array<Record<'plain' | 'value' | 'breakdown', Figures>> = []
        for (let round = 0; round < ROUNDS; round++) {
          load(dimensioned, 'dimensioned', 1) // every merchant has transactions at both edges
          rounds.push({
            plain: load(dimensioned, 'get', SECONDS, connections),
            value: load(dimensioned, 'value', SECONDS, connections),
            breakdown: load(dimensioned, 'breakdown', SECONDS, connections),
          })
        }
        const p50 = (kind: 'plain' | 'value' | 'breakdown') =>
          fmt(median(rounds.map((r) => r[kind].p50)), 3)
        const ratio = (kind: 'value' | 'breakdown', figure: 'p50' | 'rps') =>
          fmt(median(rounds.map((r) => r[kind][figure] / r.plain[figure])), 3)
        console.log(
          `${connections} connection${connections === 1 ? '' : 's'}: p50 plain ${p50('plain')} ms, merchant ${p50('value')} ms (${ratio('value', 'p50')} of plain; req/s ${ratio('value', 'rps')}), breakdown ${p50('breakdown')} ms (req/s ${ratio('breakdown', 'rps')} of plain)`,
        )
      }
      const rssBefore = rssMb(dimensioned)
      const soak = load(dimensioned, 'dimensioned', DIMENSION_SOAK_SECONDS)
      console.log(
        `RSS ${fmt(rssBefore, 1)} MB, after ${DIMENSION_SOAK_SECONDS} s of POSTs at ${fmt(soak.rps)} req/s over 1 000 merchants and 10 currencies: ${fmt(rssMb(dimensioned), 1)} MB`,
      )
      dimensioned.process.kill('SIGTERM')
      const flood = await start('dimensions flood', ['dist/server.js'], env)
      stopAll.push(flood)
      const floodBefore = rssMb(flood)
      await ingest(flood, 10_000_000, 100_000)
      const floodLive = (await (
        await retrying(`${flood.url}/statistics/breakdown?by=merchant&limit=1`)
      ).json()) as { other: { count: number } }
      console.log(
        `RSS ${fmt(floodBefore, 1)} MB at start, after 10 000 000 transactions over 100 000 merchants: ${fmt(rssMb(flood), 1)} MB (in other: ${fmt(floodLive.other.count)} of ${fmt((await statistics(flood)).count)})`,
      )
      flood.process.kill('SIGTERM')
    }
  } finally {
    for (const target of stopAll) target.process.kill('SIGTERM')
  }
}

// The load generator takes CPU 0: re-run this script pinned there, once.
if (PINNED && !process.env.BENCH_PINNED) {
  const self = spawnSync(
    'taskset',
    ['-c', '0', process.execPath, ...process.execArgv, ...process.argv.slice(1)],
    {
      stdio: 'inherit',
      env: { ...process.env, BENCH_PINNED: '1' },
    },
  )
  process.exit(self.status ?? 1)
}
await main()
