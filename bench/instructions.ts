/**
 * Instructions per request, counted by valgrind's callgrind: the figure that stays put when the
 * machine's pace does not. Each target runs under callgrind (pinned to CPU 1 where taskset exists);
 * this process warms it, zeroes its counters, sends an exact number of requests over keep-alive
 * connections, and dumps the counters: their total over the requests is the figure. It counts
 * every thread of the process (JIT code, garbage collection, libuv), not the kernel's work.
 *
 * Used by bench/http.ts's `instructions` phase.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../test/support/processes.js'

export type CountedScenario = 'post' | 'get'

export interface CountedTarget {
  name: string
  /** Node.js arguments of the server, e.g. ['dist/server.js']. */
  args: string[]
  node: string
}

/** Concurrent keep-alive connections: enough for the server to answer several per turn of its loop. */
const CONNECTIONS = 8
/**
 * The servers' host. Valgrind names its control files after the HOST variable, so
 * callgrind_control must be given the same one.
 */
export const HOST = '127.0.0.1'
/**
 * Under callgrind a server runs many times slower: the event-loop delay guard would answer 503
 * to what is only the counting's slowness, so it is set as high as configuration allows.
 */
const UNDER_CALLGRIND = { MAX_EVENT_LOOP_DELAY_MS: '60000' }

export function callgrindAvailable(): boolean {
  return spawnSync('valgrind', ['--version']).status === 0
}

interface Counting {
  child: ChildProcess
  port: number
  folder: string
  agent: Agent
}

async function startCounting(target: CountedTarget, pinned: boolean): Promise<Counting> {
  const port = await freePort()
  const folder = mkdtempSync(join(tmpdir(), 'txstats-callgrind-'))
  const valgrind = [
    'valgrind',
    '--tool=callgrind',
    `--callgrind-out-file=${join(folder, 'counts')}`,
    target.node,
    ...target.args,
  ]
  const [command = 'valgrind', ...argv] = pinned ? ['taskset', '-c', '1', ...valgrind] : valgrind
  const child = spawn(command, argv, {
    env: { ...process.env, ...UNDER_CALLGRIND, PORT: String(port), HOST, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'ignore'],
  })
  const counting = { child, port, folder, agent: new Agent({ keepAlive: true }) }
  // Under callgrind a server takes tens of seconds to start, minutes on a busy machine.
  for (let attempt = 0; attempt < 600; attempt++) {
    try {
      await send(counting, 'get')
      return counting
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
  }
  child.kill('SIGKILL')
  throw new Error(`${target.name} did not start under callgrind`)
}

function send(counting: Counting, scenario: CountedScenario): Promise<number> {
  const body =
    scenario === 'post'
      ? `{"amount":${(Date.now() % 100_000) / 100},"timestamp":${Date.now() - 5}}`
      : undefined
  return new Promise((resolve, reject) => {
    const sent = request(
      {
        host: HOST,
        port: counting.port,
        agent: counting.agent,
        method: body === undefined ? 'GET' : 'POST',
        path: body === undefined ? '/statistics' : '/transactions',
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
      },
      (response) => {
        response.resume()
        response.on('end', () => resolve(response.statusCode ?? 0))
      },
    )
    sent.on('error', reject)
    sent.end(body)
  })
}

/** Sends exactly `count` requests; returns how many were not answered 2xx. */
async function sendMany(
  counting: Counting,
  scenario: CountedScenario,
  count: number,
): Promise<number> {
  let sent = 0
  let failed = 0
  const connection = async () => {
    while (sent < count) {
      sent++
      const status = await send(counting, scenario)
      if (status < 200 || status >= 300) failed++
    }
  }
  await Promise.all(Array.from({ length: CONNECTIONS }, connection))
  return failed
}

/** Zeroes (-z) or dumps (-d) the counters of the process `pid` runs under callgrind. */
export function callgrindControl(pid: number | undefined, command: '-z' | '-d'): void {
  const run = spawnSync('callgrind_control', [command, String(pid)], {
    env: { ...process.env, HOST },
    encoding: 'utf8',
  })
  if (run.status !== 0 || run.stderr.includes('error'))
    throw new Error(`callgrind_control ${command} failed: ${run.stderr}`)
}

function control(counting: Counting, command: '-z' | '-d'): void {
  callgrindControl(counting.child.pid, command)
}

/**
 * The total instruction count of the callgrind dump numbered `part` (its `totals:` line), of a
 * process started with --callgrind-out-file=<folder>/counts.
 */
export function dumpedInstructions(folder: string, part: number): number {
  const text = readFileSync(join(folder, `counts.${part}`), 'utf8')
  const total = /^(?:totals|summary): (\d+)/m.exec(text)?.[1]
  if (total === undefined) throw new Error('callgrind dump without totals')
  return Number(total)
}

export interface InstructionFigures {
  /** Instructions per request, less what the idle process runs in the same time. */
  perRequest: number
  /** What the process runs per second with no request: its timers, sampling, collection. */
  idlePerSecond: number
  failed: number
}

/** How long the idle process is counted: long enough to hold every once-a-second timer. */
const IDLE_MS = 3000

/**
 * Instructions per request of one target in one scenario: `warm` requests first (so the JIT has
 * settled), then the idle process is counted for a while, then `count` counted requests. Under
 * callgrind the requests take many times longer than without it, so the work a process does per
 * second whatever it serves (timers) would weigh as many times too much: it is counted apart and
 * taken out.
 */
export async function countInstructions(
  target: CountedTarget,
  scenario: CountedScenario,
  warm: number,
  count: number,
  pinned: boolean,
): Promise<InstructionFigures> {
  const counting = await startCounting(target, pinned)
  try {
    await sendMany(counting, scenario, warm)
    control(counting, '-z')
    const idleStarted = performance.now()
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS))
    control(counting, '-d')
    const idlePerSecond =
      dumpedInstructions(counting.folder, 1) / ((performance.now() - idleStarted) / 1000)
    control(counting, '-z')
    const started = performance.now()
    const failed = await sendMany(counting, scenario, count)
    control(counting, '-d')
    const seconds = (performance.now() - started) / 1000
    const busy = dumpedInstructions(counting.folder, 2) - idlePerSecond * seconds
    return { perRequest: busy / count, idlePerSecond, failed }
  } finally {
    counting.agent.destroy()
    const { child } = counting
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGKILL')
      await exited
    }
    rmSync(counting.folder, { recursive: true, force: true })
  }
}

/** Requests before counting starts, and counted requests, per target and scenario. */
const WARM = Number(process.env.BENCH_WARM_REQUESTS ?? 4000)
const COUNTED = Number(process.env.BENCH_COUNTED_REQUESTS ?? 6000)

/** Two copies of one build must count within this share of each other for the run to count. */
const AA_TOLERANCE = 0.03

const percent = (ratio: number) => `${(100 * ratio).toFixed(1)} %`

/**
 * The instructions phase: each target's instructions per POST and per GET, each as a share of each
 * baseline's, and the A/A check between the first two targets (two copies of one build).
 */
export async function printInstructionsPhase(
  targets: CountedTarget[],
  baselines: string[],
  pinned: boolean,
): Promise<void> {
  for (const scenario of ['post', 'get'] as const) {
    const counts = new Map<string, InstructionFigures>()
    for (const target of targets)
      counts.set(target.name, await countInstructions(target, scenario, WARM, COUNTED, pinned))
    const title = scenario === 'post' ? 'POST /transactions' : 'GET /statistics'
    console.log(
      `\n${title}: instructions per request (callgrind, ${WARM} requests to warm, then ${COUNTED} counted over ${CONNECTIONS} connections)`,
    )
    const width = Math.max(17, ...targets.map((t) => t.name.length))
    const heads = baselines.map((of) => `/ ${of}`)
    console.log(
      `${'target'.padEnd(width)}  instructions  ${heads.join('  ')}  not 2xx  idle instructions/s`,
    )
    for (const [name, figures] of counts) {
      const cells = baselines.map((of, i) =>
        percent(figures.perRequest / (counts.get(of)?.perRequest ?? Number.NaN)).padStart(
          heads[i]?.length ?? 0,
        ),
      )
      console.log(
        `${name.padEnd(width)}  ${Math.round(figures.perRequest).toLocaleString('en-US').padStart(12)}  ${cells.join('  ')}  ${String(figures.failed).padStart(7)}  ${Math.round(figures.idlePerSecond).toLocaleString('en-US').padStart(19)}`,
      )
    }
    const [a, b] = targets
    const ratio =
      (counts.get(b?.name ?? '')?.perRequest ?? 0) / (counts.get(a?.name ?? '')?.perRequest ?? 0)
    const verdict = Math.abs(ratio - 1) <= AA_TOLERANCE ? 'PASS' : 'FAIL'
    console.log(
      `A/A check (${b?.name} / ${a?.name}, the same build): instructions ${percent(ratio)}: ${verdict} (within ${AA_TOLERANCE * 100} % is required to trust a difference of 5 %)`,
    )
  }
}
