import { describe, expect, it } from 'vitest'
import {
  type FaultScenario,
  runScenario,
  SCENARIOS,
  type ScenarioRun,
} from './support/fault-scenarios.js'

/**
 * Faults of Redis and of the service under clients that retry every 503 and connection error with
 * the same Idempotency-Key (the README's rule): no transaction lost, none counted twice, every
 * 5xx a 503 problem+json, and /ready saying 503 soon after a fault that makes requests fail.
 */
const [killed, frozen, failover, restarted, worker] = SCENARIOS as [
  FaultScenario,
  FaultScenario,
  FaultScenario,
  FaultScenario,
  FaultScenario,
]

const short = { beforeMs: 1_000, afterMs: 500, outageMs: 1_000 }

async function run(scenario: FaultScenario) {
  const result = await runScenario(scenario, short)
  expect(result.figures.wrong).toBe(0)
  expect(result.figures.stored).toBeGreaterThan(0)
  // Not one lost, not one counted twice: the count and the exact sum are the ledger's.
  expect(result.count).toBe(result.ledgerCount)
  expect(result.sum).toBe(result.ledgerSum)
  return result
}

/**
 * Not ready at once, and the outage of the one shard logged once at warn, with its cause, then its
 * end once. A Redis that wakes to a backlog on a busy machine may be slow past the timeout again:
 * each such outage is one more pair of lines, never a line per failed request.
 */
function expectOutages({ figures, warnings }: ScenarioRun, cause: RegExp) {
  expect(figures.retries).toBeGreaterThan(0)
  expect(figures.readyDownAfterMs).toBeLessThan(1_000)
  expect(warnings.length).toBeGreaterThanOrEqual(2)
  expect(warnings.length % 2).toBe(0)
  expect(warnings[0]).toMatch(new RegExp(`"shard":0,"cause":"${cause.source}".*does not answer`))
  warnings.forEach((line, i) => {
    expect(line).toMatch(i % 2 === 0 ? /"shard":0.*does not answer/ : /"shard":0.*answers again/)
  })
}

describe('faults, under clients that retry with the same key', () => {
  it(`${killed.name}: 0 lost, not ready at once, one warn line for the outage and one for its end`, async () => {
    expectOutages(await run(killed), /.+/)
  }, 30_000)

  it(`${frozen.name}: the answers made while frozen run when it wakes, and their retries are replays`, async () => {
    expectOutages(await run(frozen), /Command timed out/)
  }, 30_000)

  it(`${failover.name}: the other shards keep taking writes while one fails over`, async () => {
    const { figures, warnings } = await run(failover)
    // Writes kept being stored while a shard was down (how many is the soak's figure to print).
    expect(figures.rateDuring).toBeGreaterThan(0)
    expect(figures.readyDownAfterMs).toBeLessThan(1_000)
    expect(warnings.some((line) => /"shard":\d.*does not answer/.test(line))).toBe(true)
  }, 60_000)

  it(`${restarted.name}`, async () => {
    const { figures } = await run(restarted)
    expect(figures.retries).toBeGreaterThan(0)
  }, 30_000)

  it(`${worker.name}`, async () => {
    await run(worker)
  }, 30_000)
})
