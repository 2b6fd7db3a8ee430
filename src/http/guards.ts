import bearerAuth from '@fastify/bearer-auth'
import rateLimit from '@fastify/rate-limit'
import underPressure from '@fastify/under-pressure'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Config } from '../config.js'
import { ProblemError } from './problem.js'
import { Problems } from './problems.js'
import { windowText } from './window-text.js'

const REALM = 'Bearer realm="txstats"'

/**
 * Requires `Authorization: Bearer <key>` on every route of the scope it is called in: keys are
 * compared by @fastify/bearer-auth in constant time, the scheme matched in any case (RFC 9110
 * §11.1). A missing or wrong key is 401 problem+json with WWW-Authenticate, answered in
 * onRequest, before the body is even read. With `failures`, an address that has used up its
 * failures is answered 429 before its key is even looked at, so keys cannot be guessed faster.
 */
export async function requireApiKey(
  scope: FastifyInstance,
  keys: readonly string[],
  failures: FailureLimit | undefined,
): Promise<void> {
  await scope.register(bearerAuth, {
    keys: [...keys],
    addHook: false,
    specCompliance: 'rfc6749', // "bearer" as well as "Bearer"
    verifyErrorLogLevel: 'debug',
  })
  const verify = scope.verifyBearerAuth
  if (!verify) throw new Error('@fastify/bearer-auth did not decorate verifyBearerAuth')
  const unauthorized = (reply: FastifyReply) => {
    reply.header('www-authenticate', REALM)
    return Problems.unauthorized()
  }
  if (!failures) {
    scope.addHook('onRequest', (request, reply, done) => {
      verify(request, reply, (error) => done(error ? unauthorized(reply) : undefined))
    })
    return
  }
  scope.addHook('onRequest', async (request, reply) => {
    const blocked = await failures.blocked(request, reply)
    if (blocked) throw blocked
    const error = await new Promise<Error | undefined>((resolve) =>
      verify(request, reply, (failed) => resolve(failed ?? undefined)),
    )
    if (!error) return
    throw (await failures.count(request, reply)) ?? unauthorized(reply)
  })
}

/**
 * Per-address budget of failed requests (a wrong or missing key, an unknown route), with
 * @fastify/rate-limit's store: past it, 429 problem+json with Retry-After until its window ends.
 * One warning is logged when an address runs out, not one per request.
 */
export class FailureLimit {
  readonly #check: ReturnType<FastifyInstance['createRateLimit']>
  readonly #window: string

  constructor(app: FastifyInstance, max: number, windowMs: number) {
    this.#window = windowText(windowMs)
    this.#check = app.createRateLimit({
      max,
      timeWindow: windowMs,
      keyGenerator: (request) => `failed:${request.ip}`,
    })
  }

  /** The 429 to answer when the address has no failures left; counts nothing. */
  async blocked(request: FastifyRequest, reply: FastifyReply): Promise<ProblemError | undefined> {
    const limit = await this.#check(request, { increment: false })
    return limit.isAllowed || !limit.isExceeded ? undefined : this.#tooMany(reply, limit)
  }

  /** Counts a failure; the 429 to answer instead when the address was, or now is, out of them. */
  async fail(request: FastifyRequest, reply: FastifyReply): Promise<ProblemError | undefined> {
    return (await this.blocked(request, reply)) ?? this.count(request, reply)
  }

  /**
   * Counts a failure of an address already found not blocked (see blocked); the 429 to answer
   * instead when it was one too many, with one warning for the address.
   */
  async count(request: FastifyRequest, reply: FastifyReply): Promise<ProblemError | undefined> {
    const limit = await this.#check(request)
    if (limit.isAllowed || !limit.isExceeded) return undefined
    request.log.warn(
      { ip: request.ip, max: limit.max },
      `too many failed requests from one address: 429 for ${this.#window}`,
    )
    return this.#tooMany(reply, limit)
  }

  #tooMany(reply: FastifyReply, limit: { max: number; ttlInSeconds: number }): ProblemError {
    reply.header('retry-after', Math.max(1, limit.ttlInSeconds))
    return Problems.tooManyFailures(limit.max, this.#window)
  }
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

/**
 * Per-client rate limiting (@fastify/rate-limit), off unless RATE_LIMIT_MAX is set: 429
 * problem+json with Retry-After. Its hook is the app's first onRequest hook after load shedding,
 * so it counts every request, those refused for their key and unknown routes too. Returns the
 * failure budget when API_KEYS and FAILURE_LIMIT_MAX are set.
 */
export async function limitRate(
  app: FastifyInstance,
  config: Config,
): Promise<FailureLimit | undefined> {
  const limitFailures = config.apiKeys.length > 0 && config.FAILURE_LIMIT_MAX > 0
  if (config.RATE_LIMIT_MAX === 0 && !limitFailures) return undefined
  const window = windowText(config.RATE_LIMIT_WINDOW_MS)
  await app.register(rateLimit, {
    global: false,
    max: Math.max(1, config.RATE_LIMIT_MAX),
    timeWindow: config.RATE_LIMIT_WINDOW_MS,
    errorResponseBuilder: (_request, context) =>
      Problems.rateLimited(context.max, window, context.after),
  })
  if (config.RATE_LIMIT_MAX > 0) app.addHook('onRequest', app.rateLimit())
  if (!limitFailures) return undefined
  return new FailureLimit(app, config.FAILURE_LIMIT_MAX, config.FAILURE_LIMIT_WINDOW_MS)
}

/**
 * What a breakdown counts for against RATE_LIMIT_MAX: one plain request, plus one per hundred
 * values it may read (DIMENSION_MAX_VALUES), since its cost grows with them while a plain read's
 * does not.
 */
export function breakdownWeight(maxValues: number): number {
  return 1 + Math.ceil(maxValues / 100)
}

/**
 * With RATE_LIMIT_MAX set, requests of a scope that cost `weight` plain ones get a per-client
 * budget of their own, RATE_LIMIT_MAX / weight a window, besides counting once in the shared
 * one: so a client spends its share of the service's work, not its count of requests. 429 as
 * the shared limit answers.
 */
export function limitWeighted(
  scope: FastifyInstance,
  config: Config,
  name: string,
  weight: number,
): void {
  if (config.RATE_LIMIT_MAX === 0 || weight <= 1) return
  const max = Math.max(1, Math.floor(config.RATE_LIMIT_MAX / weight))
  const window = windowText(config.RATE_LIMIT_WINDOW_MS)
  // A check of its own: the plugin runs one of its hooks per request, the shared limit's.
  const check = scope.createRateLimit({
    max,
    timeWindow: config.RATE_LIMIT_WINDOW_MS,
    keyGenerator: (request) => `${name}:${request.ip}`,
  })
  scope.addHook('onRequest', async (request, reply) => {
    const limit = await check(request)
    if (limit.isAllowed || !limit.isExceeded) return
    reply.header('retry-after', Math.max(1, limit.ttlInSeconds))
    throw Problems.rateLimited(max, window, windowText(limit.ttl))
  })
}
