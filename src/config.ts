import envSchema from 'env-schema'
import { type Static, Type } from 'typebox'

/** Every setting the service reads, with its bounds and default: read and validated once. */
export const ConfigSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65_535, default: 8000 }),
  HOST: Type.String({ minLength: 1, default: 'localhost' }),
  WINDOW_MS: Type.Integer({ minimum: 1_000, maximum: 300_000, default: 60_000 }),
  CLOCK_SKEW_MS: Type.Integer({ minimum: 0, maximum: 60_000, default: 2_000 }),
  BODY_LIMIT: Type.Integer({ minimum: 1_024, maximum: 16 * 1024 * 1024, default: 1024 * 1024 }),
  BATCH_MAX_ITEMS: Type.Integer({ minimum: 1, maximum: 100_000, default: 10_000 }),
  STREAM_MAX_SUBSCRIBERS: Type.Integer({ minimum: 1, maximum: 100_000, default: 5_000 }),
  LOG_LEVEL: Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
    default: 'info',
  }),
})

export type Config = Static<typeof ConfigSchema>

/** Thrown with a one-line message that names the offending variable. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return envSchema<Config>({ schema: ConfigSchema, data: env })
  } catch (error) {
    throw new ConfigError(describe(error))
  }
}

function describe(error: unknown): string {
  // env-schema reports "env/PORT must be <= 65535"; keep the variable and the rule.
  const message = error instanceof Error ? error.message : String(error)
  const first = message.split(/, (?=env\/)/)[0] ?? message
  return `invalid configuration: ${first.replace(/^env\//, '')}`
}
