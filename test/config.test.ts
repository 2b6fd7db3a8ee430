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
      LOG_LEVEL: 'info',
    })
  })

  it('reads and converts every variable', () => {
    const config = loadConfig({
      PORT: '9000',
      HOST: '0.0.0.0',
      WINDOW_MS: '5000',
      CLOCK_SKEW_MS: '0',
      LOG_LEVEL: 'warn',
    })
    expect(config).toMatchObject({
      PORT: 9000,
      HOST: '0.0.0.0',
      WINDOW_MS: 5000,
      CLOCK_SKEW_MS: 0,
      LOG_LEVEL: 'warn',
    })
  })

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ WINDOW_MS: '999' }, 'WINDOW_MS'],
    [{ CLOCK_SKEW_MS: '-1' }, 'CLOCK_SKEW_MS'],
    [{ BODY_LIMIT: '1.5' }, 'BODY_LIMIT'],
    [{ BATCH_MAX_ITEMS: '0' }, 'BATCH_MAX_ITEMS'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
  ])('refuses %o with a one-line message naming %s', (env, name) => {
    let error: unknown
    try {
      loadConfig(env)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(ConfigError)
    const message = (error as Error).message
    expect(message).toMatch(new RegExp(`^invalid configuration: ${name} `))
    expect(message).not.toContain('\n')
  })
})
