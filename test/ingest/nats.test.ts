import { afterEach, describe, expect, it } from 'vitest'
import { NatsIngest } from '../../src/ingest/nats.js'
import { submitThrough } from '../../src/ingest/submit.js'
import { NOW, statistics, type TestApp, testApp } from '../support/http.js'
import {
  consumerState,
  NATS_URL,
  NatsServer,
  ownStream,
  publish,
  removeStream,
} from '../support/nats.js'
import { ServiceProcess } from '../support/processes.js'
import { until } from '../support/redis-server.js'
import { describeStores, HTTP_STORE_KINDS, REDIS_URL } from '../support/stores.js'

const DURABLE = 'txstats'

/** An exact sum of amounts of at most two decimals. */
const sumOf = (amounts: readonly number[]) =>
  amounts.reduce((sum, amount) => sum + Math.round(amount * 100), 0) / 100

describeStores(HTTP_STORE_KINDS, (store) => {
  let t: TestApp
  let ingest: NatsIngest | undefined
  let stream = ''
  afterEach(async () => {
    await ingest?.stop()
    await t?.app.close()
    await removeStream(NATS_URL, stream)
  })

  async function start(env: Record<string, string> = {}) {
    const own = ownStream()
    stream = own.stream
    ingest = new NatsIngest({
      url: NATS_URL,
      stream: own.stream,
      subjects: [own.subjects],
      durable: DURABLE,
      batch: 16,
      deadLetterSubject: '',
    })
    t = await testApp({ store, env, ingest })
    await ingest.start(submitThrough(t.app, undefined), t.app.log)
    return own
  }

  it('counts each message once, duplicates by Nats-Msg-Id and batches included', async () => {
    const { subject } = await start()
    const amounts: number[] = []
    const messages: Array<{ data: unknown; id?: string }> = []
    for (let i = 0; i < 60; i++) {
      const amount = ((i * 7919) % 10_000) / 100
      amounts.push(amount)
      messages.push({ data: { amount, timestamp: NOW - i }, id: `m-${i}` })
      if (i % 10 === 0) messages.push({ data: { amount, timestamp: NOW - i }, id: `m-${i}` })
    }
    const batch = [1.5, 2.25, 3].map((amount, k) => ({ amount, timestamp: NOW - k }))
    amounts.push(...batch.map((item) => item.amount))
    messages.push({ data: batch, id: 'batch-1' })
    await publish(NATS_URL, subject, messages)
    await until(async () => (await statistics(t.app)).count === amounts.length)
    await until(async () => (await consumerState(NATS_URL, stream, DURABLE)).pending === 0)
    expect(await statistics(t.app)).toMatchObject({
      count: amounts.length,
      sum: sumOf(amounts),
    })
    const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body
    expect(metrics).toMatch(/^txstats_ingest_messages_total\{outcome="stored"\} 61$/m)
    expect(metrics).toMatch(/^txstats_ingest_transactions_total\{outcome="stored"\} 63$/m)
    expect((await t.app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200)
  })

  it('acknowledges invalid and too old messages once, counted, never delivered again', async () => {
    const { subject } = await start()
    await publish(NATS_URL, subject, [
      { data: 'not json' },
      { data: { amount: 'twelve', timestamp: NOW } },
      { data: { amount: 1, timestamp: NOW - 120_000 } },
      // As sent: 1e400 is not a number the service takes (not exact, not finite).
      { data: `[{"amount":4,"timestamp":${NOW}},{"amount":1e400,"timestamp":${NOW}}]` },
    ])
    await until(() => (ingest?.counts.transactions.invalid ?? 0) >= 3).catch((error) => {
      throw new Error(`${error}: ${JSON.stringify(ingest?.counts)}`)
    })
    let last: unknown
    await until(async () => {
      const state = await consumerState(NATS_URL, stream, DURABLE)
      last = state
      return state.pending === 0 && state.unacknowledged === 0
    }).catch((error) => {
      throw new Error(`${error}: ${JSON.stringify(last)} ${JSON.stringify(ingest?.counts)}`)
    })
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(ingest?.counts.messages).toMatchObject({ invalid: 2, tooOld: 1, stored: 1 })
    expect(ingest?.counts.transactions).toMatchObject({ invalid: 3, tooOld: 1, stored: 1 })
    expect((await consumerState(NATS_URL, stream, DURABLE)).redelivered).toBe(0)
    expect(await statistics(t.app)).toMatchObject({ count: 1, sum: 4 })
  })
})

describe('NATS ingest on Redis, across processes', () => {
  const services: ServiceProcess[] = []
  let stream = ''
  afterEach(async () => {
    for (const service of services.splice(0)) {
      if (service.child.exitCode === null) await service.stop('SIGKILL')
    }
    await removeStream(NATS_URL, stream)
  })

  function service(own: ReturnType<typeof ownStream>, prefix: string, url = NATS_URL) {
    const started = new ServiceProcess({
      STORE: 'redis',
      REDIS_URL,
      REDIS_PREFIX: prefix,
      LOG_LEVEL: 'info',
      INGEST_NATS_URL: url,
      INGEST_STREAM: own.stream,
      INGEST_SUBJECTS: own.subjects,
      INGEST_BATCH: '8',
    })
    services.push(started)
    return started
  }

  async function count(port: number): Promise<{ count: number; sum: number }> {
    const response = await fetch(`http://127.0.0.1:${port}/statistics`)
    return (await response.json()) as { count: number; sum: number }
  }

  function messages(n: number) {
    const now = Date.now()
    const amounts = Array.from({ length: n }, (_, i) => ((i * 131) % 1000) / 100)
    return {
      amounts,
      published: amounts.map((amount, i) => ({
        data: [{ amount, timestamp: now - (i % 500) }],
        id: `m-${i}`,
      })),
    }
  }

  it('counts exactly once through a SIGKILL mid-stream and a restart, and with two instances on one consumer', async () => {
    const own = ownStream()
    stream = own.stream
    const prefix = `test:ingest:${Date.now()}:`
    const first = service(own, prefix)
    const port = await first.listening()
    await until(async () => (await fetch(`http://127.0.0.1:${port}/ready`)).status === 200)
    const { amounts, published } = messages(400)
    await publish(NATS_URL, own.subject, published)
    // Killed while it works through them: some stored and not acknowledged, some not yet stored.
    await until(async () => (await count(port)).count >= 40)
    await first.stop('SIGKILL')
    const second = service(own, prefix)
    const third = service(own, prefix)
    const [secondPort] = await Promise.all([second.listening(), third.listening()])
    await until(async () => (await count(secondPort as number)).count === amounts.length, 30_000)
    await until(async () => (await consumerState(NATS_URL, stream, DURABLE)).pending === 0)
    await new Promise((resolve) => setTimeout(resolve, 1_000)) // anything redelivered is replayed
    expect(await count(secondPort as number)).toEqual(
      expect.objectContaining({ count: amounts.length, sum: sumOf(amounts) }),
    )
  }, 60_000)

  it('counts exactly once across a NATS restart', async () => {
    const nats = await NatsServer.start()
    try {
      const own = ownStream()
      const instance = service(own, `test:ingest:${Date.now()}:`, nats.url)
      const port = await instance.listening()
      await until(async () => (await fetch(`http://127.0.0.1:${port}/ready`)).status === 200)
      const { amounts, published } = messages(200)
      await publish(nats.url, own.subject, published.slice(0, 100))
      await until(async () => (await count(port)).count >= 50)
      await nats.stop()
      await until(async () => (await fetch(`http://127.0.0.1:${port}/ready`)).status === 503)
      await nats.restart()
      await until(async () => (await fetch(`http://127.0.0.1:${port}/ready`)).status === 200)
      await publish(nats.url, own.subject, published.slice(100))
      await until(async () => (await count(port)).count === amounts.length, 30_000)
      await new Promise((resolve) => setTimeout(resolve, 1_000))
      expect(await count(port)).toEqual(
        expect.objectContaining({ count: amounts.length, sum: sumOf(amounts) }),
      )
      expect((await fetch(`http://127.0.0.1:${port}/ready`)).status).toBe(200)
    } finally {
      await nats.remove()
    }
  }, 60_000)
})
