import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../src/config.js'

describe('configuration', () => {
  it('has defaults that serve http://localhost:8000 from this machine only', () => {
    expect(loadConfig({})).toEqual({
      PORT: 8000,
      HOST: 'localhost',
      WINDOW_MS: 60_000,
      CLOCK_SKEW_MS: 2_000,
      BODY_LIMIT: 1_048_576,
      BATCH_MAX_ITEMS: 10_000,
      STREAM_MAX_SUBSCRIBERS: 5_000,
      STREAM_MAX_PER_ADDRESS: 100,
      STREAM_MAX_LIFETIME_MS: 900_000,
      API_KEYS: '',
      API_KEYS_FILE: '',
      READ_AUTH: 'open',
      SERVED_OVER_HTTPS: false,
      TRUST_PROXY: '',
      HEADERS_TIMEOUT_MS: 10_000,
      REQUEST_TIMEOUT_MS: 30_000,
      KEEP_ALIVE_TIMEOUT_MS: 5_000,
      MAX_CONNECTIONS: 10_000,
      RATE_LIMIT_MAX: 0,
      RATE_LIMIT_WINDOW_MS: 60_000,
      FAILURE_LIMIT_MAX: 30,
      FAILURE_LIMIT_WINDOW_MS: 60_000,
      MAX_EVENT_LOOP_DELAY_MS: 1_000,
      MAX_HEAP_USED_MB: 1_024,
      MAX_RSS_MB: 0,
      IDEMPOTENCY_RETENTION_MS: 0,
      IDEMPOTENCY_MEMORY_MB: 256,
      IDEMPOTENCY_CLIENT_SHARE: 25,
      QUANTILES: false,
      QUANTILE_ACCURACY: 0.01,
      QUANTILE_MEMORY_MB: 384,
      DIMENSIONS: '',
      DIMENSION_MAX_VALUES: 1_000,
      DIMENSION_MEMORY_MB: 256,
      STORE: 'memory',
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_PREFIX: 'txstats:',
      REDIS_CLUSTER: false,
      REDIS_SHARDS: 1,
      REDIS_TIMEOUT_MS: 1_000,
      REDIS_WAIT_REPLICAS: 0,
      REDIS_FLUSH_MS: 0,
      INGEST_NATS_URL: '',
      INGEST_STREAM: 'TRANSACTIONS',
      INGEST_SUBJECTS: 'transactions.>',
      INGEST_DURABLE: 'txstats',
      INGEST_BATCH: 64,
      INGEST_DEAD_LETTER_SUBJECT: '',
      WORKERS: 1,
      LOG_LEVEL: 'info',
      apiKeys: [],
      trustProxy: false,
      // Remembered for the window plus the skew: the least that keeps a retry from counting twice.
      idempotencyRetentionMs: 62_000,
      dimensions: [],
    })
  })

  it('takes up to four dimension names and refuses any other', () => {
    expect(loadConfig({ DIMENSIONS: ' currency, merchant_id ,' }).dimensions).toEqual([
      'currency',
      'merchant_id',
    ])
    for (const [text, rule] of [
      ['a,b,c,d,e', 'at most 4'],
      ['Currency', 'Currency'],
      ['amount', 'amount'],
      ['limit', 'limit'],
      ['x'.repeat(33), 'xxx'],
      ['a,a', 'twice'],
      ['9lives', '9lives'],
    ]) {
      expect(() => loadConfig({ DIMENSIONS: text })).toThrow(ConfigError)
      expect(() => loadConfig({ DIMENSIONS: text })).toThrow(rule)
    }
    expect(() => loadConfig({ DIMENSION_MAX_VALUES: '0' })).toThrow(/DIMENSION_MAX_VALUES/)
    expect(() => loadConfig({ DIMENSION_MAX_VALUES: '10001' })).toThrow(/DIMENSION_MAX_VALUES/)
  })

  it('reads and converts every variable', () => {
    const config = loadConfig({
      PORT: '9000',
      HOST: '0.0.0.0',
      WINDOW_MS: '5000',
      CLOCK_SKEW_MS: '0',
      LOG_LEVEL: 'warn',
      STORE: 'redis',
      REDIS_URL: 'rediss://user:secret@redis.internal:6380/2',
      REDIS_PREFIX: 'prod:',
      REDIS_CLUSTER: 'true',
      REDIS_SHARDS: '3',
      WORKERS: '2',
    })
    expect(config).toMatchObject({
      PORT: 9000,
      HOST: '0.0.0.0',
      WINDOW_MS: 5000,
      CLOCK_SKEW_MS: 0,
      LOG_LEVEL: 'warn',
      STORE: 'redis',
      REDIS_URL: 'rediss://user:secret@redis.internal:6380/2',
      REDIS_PREFIX: 'prod:',
      REDIS_CLUSTER: true,
      REDIS_SHARDS: 3,
      WORKERS: 2,
    })
  })

  it('gathers API keys from API_KEYS and API_KEYS_FILE', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'keys-')), 'keys')
    writeFileSync(file, '# rotated 2026-11\nthird-key-0123456789\n\n')
    const config = loadConfig({
      API_KEYS: 'first-key-0123456789, second-key-0123456789',
      API_KEYS_FILE: file,
    })
    expect(config.apiKeys).toEqual([
      'first-key-0123456789',
      'second-key-0123456789',
      'third-key-0123456789',
    ])
  })

  it('keeps no quantiles on either store unless QUANTILES=true', () => {
    expect(loadConfig({}).QUANTILES).toBe(false)
    expect(loadConfig({ STORE: 'redis' }).QUANTILES).toBe(false)
    expect(loadConfig({ STORE: 'redis', QUANTILES: 'true' }).QUANTILES).toBe(true)
    expect(loadConfig({ QUANTILES: 'true' }).QUANTILES).toBe(true)
    // Off, the budget is not checked: it keeps nothing.
    expect(loadConfig({ QUANTILE_MEMORY_MB: '1' }).QUANTILES).toBe(false)
    expect(() => loadConfig({ QUANTILES: 'true', QUANTILE_MEMORY_MB: '1' })).toThrow(
      /QUANTILE_MEMORY_MB|quantile/i,
    )
  })

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ WINDOW_MS: '999' }, 'WINDOW_MS'],
    [{ CLOCK_SKEW_MS: '-1' }, 'CLOCK_SKEW_MS'],
    [{ BODY_LIMIT: '1.5' }, 'BODY_LIMIT'],
    [{ BATCH_MAX_ITEMS: '0' }, 'BATCH_MAX_ITEMS'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ API_KEYS: 'short' }, 'API_KEYS'],
    [{ API_KEYS_FILE: '/nonexistent/keys' }, 'API_KEYS_FILE'],
    [{ READ_AUTH: 'keyed' }, 'READ_AUTH'],
    [{ STORE: 'postgres' }, 'STORE'],
    [{ REDIS_URL: 'http://127.0.0.1:6379' }, 'REDIS_URL'],
    [{ REDIS_PREFIX: 'a{b}:' }, 'REDIS_PREFIX'],
    [{ REDIS_SHARDS: '0' }, 'REDIS_SHARDS'],
    [{ WORKERS: '2' }, 'WORKERS'],
    [{ IDEMPOTENCY_RETENTION_MS: '61999' }, 'IDEMPOTENCY_RETENTION_MS'],
    [{ REDIS_WAIT_REPLICAS: '-1' }, 'REDIS_WAIT_REPLICAS'],
    [{ REDIS_FLUSH_MS: '101' }, 'REDIS_FLUSH_MS'],
    [{ INGEST_NATS_URL: 'http://127.0.0.1:4222' }, 'INGEST_NATS_URL'],
    [{ INGEST_STREAM: 'a b' }, 'INGEST_STREAM'],
    [{ INGEST_BATCH: '0' }, 'INGEST_BATCH'],
    [{ IDEMPOTENCY_CLIENT_SHARE: '0' }, 'IDEMPOTENCY_CLIENT_SHARE'],
    [{ QUANTILE_ACCURACY: '0.0009' }, 'QUANTILE_ACCURACY'],
    [{ QUANTILE_ACCURACY: '0.06' }, 'QUANTILE_ACCURACY'],
    [{ QUANTILES: 'true', QUANTILE_MEMORY_MB: '30' }, 'QUANTILE_MEMORY_MB'],
    [
      { QUANTILES: 'true', QUANTILE_ACCURACY: '0.001', QUANTILE_MEMORY_MB: '300' },
      'QUANTILE_MEMORY_MB',
    ],
  ])('refuses %o with a one-line message naming %s', (env, name) => {
    let error: unknown
    try {
      loadConfig(env)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(ConfigError)
    const message = (error as Error).message
    expect(message).toMatch(new RegExp(`^invalid configuration: ${name}[ =]`))
    expect(message).not.toContain('\n')
  })
})
