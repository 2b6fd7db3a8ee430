import bearerAuth from '@fastify/bearer-auth'
import rateLimit from '@fastify/rate-limit'
import underPressure from '@fastify/under-pressure'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../config.js'
import { ProblemError } from './problem.js'

const REALM = 'Bearer realm="txstats"'

/**
 * Requires `Authorization: Bearer <key>` on every route of the scope it is called in: keys are
 * compared by @fastify/bearer-auth in constant time. A missing or wrong key is 401 problem+json
 * with WWW-Authenticate, answered in onRequest, before the body is even read.
 */
export async function requireApiKey(
  scope: FastifyInstance,
  keys: readonly string[],
): Promise<void> {
  await scope.register(bearerAuth, { keys: [...keys], addHook: false, verifyErrorLogLevel: 'warn' })
  const verify = scope.verifyBearerAuth
  if (!verify) throw new Error('@fastify/bearer-auth did not decorate verifyBearerAuth')
  scope.addHook('onRequest', (request, reply, done) => {
    verify(request, reply, (error) => {
      if (!error) return done()
      reply.header('www-authenticate', REALM)
      done(new ProblemError(401, 'A valid API key is required: Authorization: Bearer <key>.'))
    })
  })
}

/** What load shedding answers: 503 problem+json (under-pressure adds Retry-After). */
class Overloaded extends ProblemError {
  constructor() {
    super(503, 'The service is overloaded; try again shortly.')
  }
}

/**
 * Load shedding with @fastify/under-pressure: past the event-loop delay or memory thresholds,
 * every request, /health and /ready included, gets 503 problem+json with Retry-After until the
 * load falls; nothing is half-done, the request is refused before it is read.
 */
export async function shedLoad(app: FastifyInstance, config: Config): Promise<void> {
  await app.register(underPressure, {
    maxEventLoopDelay: config.MAX_EVENT_LOOP_DELAY_MS,
    maxHeapUsedBytes: config.MAX_HEAP_USED_MB * 2 ** 20,
    maxRssBytes: config.MAX_RSS_MB * 2 ** 20,
    retryAfter: RETRY_AFTER_S,
    customError: Overloaded,
  })
}

const RETRY_AFTER_S = 5

/** Per-client rate limiting, off unless RATE_LIMIT_MAX is set: 429 problem+json with Retry-After. */
export async function limitRate(app: FastifyInstance, config: Config): Promise<void> {
  if (config.RATE_LIMIT_MAX === 0) return
  await app.register(rateLimit, {
    max: config.RATE_LIMIT_MAX,
    timeWindow: config.RATE_LIMIT_WINDOW_MS,
    errorResponseBuilder: (_request, context) =>
      new ProblemError(429, `Rate limit of ${context.max} requests per ${context.after} reached.`),
  })
}
