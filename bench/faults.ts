/**
 * The fault scenarios of the soak (not a test): for each fault of Redis or of the service
 * (test/support/fault-scenarios.ts), clients that retry every 503 and every connection error with
 * the same Idempotency-Key post for a while, the fault happens, then traffic goes on; at the end
 * the service's count and exact sum must be the clients' ledger's. Prints one row per scenario.
 *
 * Run: npm run soak (after the steady soak), or alone: node --import tsx bench/faults.ts
 * FAULT_BEFORE_S (default 10), FAULT_OUTAGE_S (5), FAULT_AFTER_S (5), FAULT_CLIENTS (32);
 * FAULT_BACKOFF=exponential for clients that back off exponentially after Retry-After;
 * FAULT_ONLY=c (or any of abcde) for some scenarios only.
 */
import { runScenario, SCENARIOS } from '../test/support/fault-scenarios.js'

const seconds = (name: string, fallback: number) => Number(process.env[name] ?? fallback) * 1_000
const timing = {
  beforeMs: seconds('FAULT_BEFORE_S', 10),
  outageMs: seconds('FAULT_OUTAGE_S', 5),
  afterMs: seconds('FAULT_AFTER_S', 5),
  clients: Number(process.env.FAULT_CLIENTS ?? 32),
  backoff: process.env.FAULT_BACKOFF === 'exponential' ? ('exponential' as const) : undefined,
}
const only = process.env.FAULT_ONLY ?? 'abcde'

const rows: string[][] = [
  [
    'scenario',
    'definitive 201s',
    'retries',
    'replayed',
    'count (service / ledger)',
    'sum equal',
    '201/s before',
    '201/s during',
    'during / before',
    '/ready not 200 after',
    'wrong answers',
  ],
]
let failed = false
for (const scenario of SCENARIOS.filter(({ name }) => only.includes(name.charAt(1)))) {
  const run = await runScenario(scenario, timing)
  const { figures } = run
  const exact = run.count === run.ledgerCount && run.sum === run.ledgerSum
  if (!exact || figures.wrong > 0) failed = true
  rows.push([
    scenario.name,
    String(figures.stored),
    String(figures.retries),
    String(figures.replayed),
    `${run.count} / ${run.ledgerCount}`,
    run.sum === run.ledgerSum ? 'yes' : `no: ${run.sum} / ${run.ledgerSum}`,
    figures.rateBefore.toFixed(0),
    figures.rateDuring.toFixed(0),
    `${((figures.rateDuring / figures.rateBefore) * 100).toFixed(1)} %`,
    figures.readyDownAfterMs === undefined ? 'never' : `${figures.readyDownAfterMs} ms`,
    String(figures.wrong),
  ])
  process.stdout.write(
    `${scenario.name}: /ready over time (ms from the fault): ${figures.readyChanges
      .map(({ atMs, status }) => `${atMs}:${status}`)
      .join(' ')}\n`,
  )
}
process.stdout.write(
  `\nFaults under ${timing.clients} clients retrying with the same key${timing.backoff ? ', backing off exponentially' : ''} (${timing.beforeMs / 1_000} s before, outage ${timing.outageMs / 1_000} s where the scenario sets it, ${timing.afterMs / 1_000} s after)\n`,
)
for (const [i, row] of rows.entries()) {
  process.stdout.write(`| ${row.join(' | ')} |\n`)
  if (i === 0) process.stdout.write(`|${row.map(() => '---').join('|')}|\n`)
}
process.stdout.write(
  failed ? '\nFAILED: a count, a sum or an answer was wrong\n' : '\nevery count and sum exact\n',
)
process.exitCode = failed ? 1 : 0
