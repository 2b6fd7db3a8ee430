import { readFileSync } from 'node:fs'
import envSchema from 'env-schema'
import { type Static, Type } from 'typebox'
import {
  DEFAULT_CLOCK_SKEW_MS,
  DEFAULT_DIMENSION_BUDGET_BYTES,
  DEFAULT_IDEMPOTENCY_BUDGET_BYTES,
  DEFAULT_IDEMPOTENCY_CLIENT_SHARE_PERCENT,
  DEFAULT_MAX_VALUES,
  DEFAULT_QUANTILE_ACCURACY,
  DEFAULT_QUANTILE_BUDGET_BYTES,
  DEFAULT_WINDOW_MS,
  MIB,
} from './core/defaults.js'
import { MAX_MAX_VALUES, parseDimensions } from './core/dimensions/names.js'
import {
  MAX_QUANTILE_ACCURACY,
  MIN_QUANTILE_ACCURACY,
  QuantileMapping,
} from './core/quantiles/quantile-mapping.js'
import { quantileFloorBytes } from './core/quantiles/settings.js'

/** Every setting the service reads, with its bounds and default: read and validated once. */
export const ConfigSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65_535, default: 8000 }),
  HOST: Type.String({ minLength: 1, default: 'localhost' }),
  WINDOW_MS: Type.Integer({ minimum: 1_000, maximum: 300_000, default: DEFAULT_WINDOW_MS }),
  CLOCK_SKEW_MS: Type.Integer({ minimum: 0, maximum: 60_000, default: DEFAULT_CLOCK_SKEW_MS }),
  BODY_LIMIT: Type.Integer({ minimum: 1_024, maximum: 16 * 1024 * 1024, default: 1024 * 1024 }),
  BATCH_MAX_ITEMS: Type.Integer({ minimum: 1, maximum: 100_000, default: 10_000 }),
  STREAM_MAX_SUBSCRIBERS: Type.Integer({ minimum: 1, maximum: 100_000, default: 5_000 }),
  STREAM_MAX_PER_ADDRESS: Type.Integer({ minimum: 1, maximum: 100_000, default: 100 }),
  STREAM_MAX_LIFETIME_MS: Type.Integer({ minimum: 1_000, maximum: 86_400_000, default: 900_000 }),
  API_KEYS: Type.String({ default: '' }),
  API_KEYS_FILE: Type.String({ default: '' }),
  READ_AUTH: Type.Enum(['open', 'keyed'], { default: 'open' }),
  SERVED_OVER_HTTPS: Type.Boolean({ default: false }),
  TRUST_PROXY: Type.String({ pattern: '^(|true|[0-9a-fA-F.:/, ]+)$', default: '' }),
  HEADERS_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 120_000, default: 10_000 }),
  REQUEST_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 30_000 }),
  KEEP_ALIVE_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 5_000 }),
  MAX_CONNECTIONS: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 10_000 }),
  RATE_LIMIT_MAX: Type.Integer({ minimum: 0, maximum: 10_000_000, default: 0 }),
  RATE_LIMIT_WINDOW_MS: Type.Integer({ minimum: 1_000, maximum: 3_600_000, default: 60_000 }),
  FAILURE_LIMIT_MAX: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 30 }),
  FAILURE_LIMIT_WINDOW_MS: Type.Integer({ minimum: 1_000, maximum: 3_600_000, default: 60_000 }),
  MAX_EVENT_LOOP_DELAY_MS: Type.Integer({ minimum: 0, maximum: 60_000, default: 1_000 }),
  MAX_HEAP_USED_MB: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 1_024 }),
  MAX_RSS_MB: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 }),
  IDEMPOTENCY_RETENTION_MS: Type.Integer({ minimum: 0, maximum: 86_400_000, default: 0 }),
  IDEMPOTENCY_MEMORY_MB: Type.Integer({
    minimum: 1,
    maximum: 1_000_000,
    default: DEFAULT_IDEMPOTENCY_BUDGET_BYTES / MIB,
  }),
  // The share of IDEMPOTENCY_MEMORY_MB one client (API key, else address) may hold, in percent.
  IDEMPOTENCY_CLIENT_SHARE: Type.Integer({
    minimum: 1,
    maximum: 100,
    default: DEFAULT_IDEMPOTENCY_CLIENT_SHARE_PERCENT,
  }),
  // Off by default on both stores: keeping sketches costs every POST, whether or not anyone asks
  // for a quantile (design.md, "What a default request pays for").
  QUANTILES: Type.Boolean({ default: false }),
  QUANTILE_ACCURACY: Type.Number({
    minimum: MIN_QUANTILE_ACCURACY,
    maximum: MAX_QUANTILE_ACCURACY,
    default: DEFAULT_QUANTILE_ACCURACY,
  }),
  QUANTILE_MEMORY_MB: Type.Integer({
    minimum: 1,
    maximum: 1_000_000,
    default: DEFAULT_QUANTILE_BUDGET_BYTES / MIB,
  }),
  DIMENSIONS: Type.String({ maxLength: 200, default: '' }),
  DIMENSION_MAX_VALUES: Type.Integer({
    minimum: 1,
    maximum: MAX_MAX_VALUES,
    default: DEFAULT_MAX_VALUES,
  }),
  DIMENSION_MEMORY_MB: Type.Integer({
    minimum: 1,
    maximum: 1_000_000,
    default: DEFAULT_DIMENSION_BUDGET_BYTES / MIB,
  }),
  STORE: Type.Enum(['memory', 'redis'], { default: 'memory' }),
  REDIS_URL: Type.String({ pattern: '^rediss?://', default: 'redis://127.0.0.1:6379' }),
  REDIS_PREFIX: Type.String({ pattern: '^[^{}]*$', maxLength: 100, default: 'txstats:' }),
  REDIS_CLUSTER: Type.Boolean({ default: false }),
  REDIS_SHARDS: Type.Integer({ minimum: 1, maximum: 64, default: 1 }),
  REDIS_TIMEOUT_MS: Type.Integer({ minimum: 10, maximum: 60_000, default: 1_000 }),
  REDIS_WAIT_REPLICAS: Type.Integer({ minimum: 0, maximum: 16, default: 0 }),
  REDIS_FLUSH_MS: Type.Integer({ minimum: 0, maximum: 100, default: 0 }),
  // Ingest from NATS JetStream (src/ingest/nats.ts): off while INGEST_NATS_URL is empty.
  INGEST_NATS_URL: Type.String({ pattern: '^(|(nats|tls)://.+)$', default: '' }),
  INGEST_STREAM: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', default: 'TRANSACTIONS' }),
  INGEST_SUBJECTS: Type.String({ minLength: 1, maxLength: 500, default: 'transactions.>' }),
  INGEST_DURABLE: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', default: 'txstats' }),
  INGEST_BATCH: Type.Integer({ minimum: 1, maximum: 1_000, default: 64 }),
  INGEST_DEAD_LETTER_SUBJECT: Type.String({ maxLength: 200, default: '' }),
  WORKERS: Type.Integer({ minimum: 1, maximum: 64, default: 1 }),
  LOG_LEVEL: Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
    default: 'info',
  }),
})

/** The settings, with the API keys gathered from API_KEYS and API_KEYS_FILE. */
export type Config = Static<typeof ConfigSchema> & {
  apiKeys: string[]
  /** TRUST_PROXY as Fastify's trustProxy option takes it. */
  trustProxy: boolean | string
  /** How long idempotency keys are remembered: IDEMPOTENCY_RETENTION_MS, or window + skew. */
  idempotencyRetentionMs: number
  /** DIMENSIONS, parsed: the names of the transactions' dimensions. */
  dimensions: string[]
}

/** Short keys can be guessed; separators would split one key into two. */
const MIN_KEY_LENGTH = 16

/** Thrown with a one-line message that names the offending variable. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  let settings: Static<typeof ConfigSchema>
  try {
    settings = envSchema<Static<typeof ConfigSchema>>({ schema: ConfigSchema, data: env })
  } catch (error) {
    throw new ConfigError(describe(error))
  }
  const apiKeys = [
    ...splitKeys(settings.API_KEYS, 'API_KEYS'),
    ...readKeyFile(settings.API_KEYS_FILE),
  ]
  if (settings.READ_AUTH === 'keyed' && apiKeys.length === 0) {
    throw new ConfigError('invalid configuration: READ_AUTH=keyed needs API_KEYS or API_KEYS_FILE')
  }
  if (settings.QUANTILES) checkQuantileBudget(settings)
  let dimensions: string[]
  try {
    dimensions = parseDimensions(settings.DIMENSIONS)
  } catch (error) {
    throw new ConfigError(`invalid configuration: DIMENSIONS: ${(error as Error).message}`)
  }
  if (settings.WORKERS > 1 && settings.STORE === 'memory') {
    throw new ConfigError(
      'invalid configuration: WORKERS above 1 needs STORE=redis: each process would keep its own window',
    )
  }
  return {
    ...settings,
    apiKeys,
    trustProxy: trustProxy(settings.TRUST_PROXY),
    idempotencyRetentionMs: idempotencyRetention(settings),
    dimensions,
  }
}

/** The quantile budget must hold the whole seconds of the window (see quantileFloorBytes). */
function checkQuantileBudget(settings: Static<typeof ConfigSchema>): void {
  const mapping = new QuantileMapping(settings.QUANTILE_ACCURACY)
  const floor = quantileFloorBytes(mapping, settings.WINDOW_MS, settings.CLOCK_SKEW_MS)
  if (settings.QUANTILE_MEMORY_MB * 2 ** 20 < floor) {
    throw new ConfigError(
      `invalid configuration: QUANTILE_MEMORY_MB must be at least ${Math.ceil(floor / 2 ** 20)} for this WINDOW_MS and QUANTILE_ACCURACY`,
    )
  }
}

/**
 * A key must be remembered for the window plus the skew (design.md, "Exactly once"): shorter
 * would let a retry count twice, so it is refused rather than taken.
 */
function idempotencyRetention(settings: Static<typeof ConfigSchema>): number {
  const least = settings.WINDOW_MS + settings.CLOCK_SKEW_MS
  const retention = settings.IDEMPOTENCY_RETENTION_MS
  if (retention === 0) return least
  if (retention < least) {
    throw new ConfigError(
      `invalid configuration: IDEMPOTENCY_RETENTION_MS must be 0 (the window plus the skew) or at least WINDOW_MS + CLOCK_SKEW_MS (${least})`,
    )
  }
  return retention
}

/** '' trusts no proxy; 'true' every one; otherwise the proxies' addresses and CIDRs. */
function trustProxy(setting: string): boolean | string {
  if (setting === '') return false
  return setting === 'true' ? true : setting
}

function splitKeys(text: string, variable: string): string[] {
  const keys = text
    .split(/[,\n]/)
    .map((key) => key.trim())
    .filter((key) => key !== '' && !key.startsWith('#'))
  for (const key of keys) {
    if (key.length < MIN_KEY_LENGTH || /\s/.test(key)) {
      throw new ConfigError(
        `invalid configuration: ${variable} keys must be at least ${MIN_KEY_LENGTH} characters, without spaces`,
      )
    }
  }
  return keys
}

function readKeyFile(path: string): string[] {
  if (path === '') return []
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch {
    throw new ConfigError(`invalid configuration: API_KEYS_FILE cannot be read: ${path}`)
  }
  return splitKeys(text, 'API_KEYS_FILE')
}

function describe(error: unknown): string {
  // env-schema reports "env/PORT must be <= 65535"; keep the variable and the rule.
  const message = error instanceof Error ? error.message : String(error)
  const first = message.split(/, (?=env\/)/)[0] ?? message
  return `invalid configuration: ${first.replace(/^env\//, '')}`
}
