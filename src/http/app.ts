import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify'
import type { Config } from '../config.js'
import type { NatsIngest } from '../ingest/nats.js'
import type { TransactionStore } from '../store/store.js'
import { answerClientError, refuseBeforeRouting } from './before-routing.js'
import { registerDashboard } from './dashboard.js'
import { registerDocs } from './docs.js'
import { Connections } from './drain.js'
import { parseJsonExactly } from './exact-json.js'
import {
  breakdownWeight,
  type FailureLimit,
  limitRate,
  limitWeighted,
  requireApiKey,
  shedLoad,
} from './guards.js'
import { IdempotentWrites } from './idempotency.js'
import { StreamHub } from './live/stream-hub.js'
import { Metrics, registerMetricsRoute, registerRequestTiming } from './metrics.js'
import { errorHandler, notFoundHandler, ProblemSchema, problem, sendProblem } from './problem.js'
import { lazyRequestLogger, OneLinePerRequest } from './request-log.js'
import { breakdownRoutes } from './routes/breakdown.js'
import { healthRoutes } from './routes/health.js'
import { liveRoutes } from './routes/live.js'
import { statisticsRoutes } from './routes/statistics.js'
import { transactionRoutes } from './routes/transactions.js'
import { NO_SNIFF } from './security-headers.js'

export interface AppOptions {
  config: Config
  store: TransactionStore
  /** Overrides the logger built from LOG_LEVEL (tests pass a stream to read it). */
  logger?: FastifyServerOptions['logger']
  version?: string
  /** Ingest from NATS, when configured: /ready and /metrics report on it. */
  ingest?: NatsIngest | undefined
}

/** How long shutting down waits, at most, for keep-alive connections to close between requests. */
const MAX_DRAIN_MS = 1_000

/** The API key never reaches a log line, whatever logs a request's headers. */
const REDACT = {
  paths: ['req.headers.authorization', 'headers.authorization', 'err.rawPacket'],
  censor: '[redacted]',
}

/** Reads are never cached (a cache would show stale statistics) and, like every answer with a body, never sniffed. */
function readHeaders(_request: FastifyRequest, reply: FastifyReply, done: () => void): void {
  reply.header('cache-control', 'no-store')
  reply.header(NO_SNIFF, 'nosniff')
  done()
}

/** The whole HTTP service around a store, ready to listen or to be injected into. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { config, store } = options
  const app = createFastify(config, options.logger)
  const shutdown = { closing: false }
  const connections = new Connections(app.server)
  refuseBeforeRouting(app.server, () => shutdown.closing, connections)
  // Connections close between requests before the server closes those still idle.
  app.addHook('preClose', async () => {
    shutdown.closing = true
    await connections.drain(Math.min(config.KEEP_ALIVE_TIMEOUT_MS, MAX_DRAIN_MS))
  })
  await shedLoad(app, config)
  const failures = await limitRate(app, config)
  const metrics = new Metrics(store, config.WINDOW_MS, config.dimensions, options.ingest?.counts)
  registerRequestTiming(app, metrics)
  app.setErrorHandler(errorHandler)
  app.setNotFoundHandler(async (request, reply) => {
    const tooMany = await failures?.fail(request, reply)
    metrics.observeUnmatched(request.method, tooMany ? 429 : 404, reply.elapsedTime / 1000)
    if (tooMany) throw tooMany
    return notFoundHandler(request, reply)
  })
  app.addSchema(ProblemSchema)
  await registerDocs(app, options.version ?? '0.0.0', config.SERVED_OVER_HTTPS)
  await registerDashboard(app, config.SERVED_OVER_HTTPS)
  await registerApi(app, config, store, metrics, failures, options.ingest)
  return app
}

function createFastify(config: Config, logger: AppOptions['logger']) {
  const app = Fastify({
    logger: logger ?? { level: config.LOG_LEVEL, redact: REDACT },
    bodyLimit: config.BODY_LIMIT,
    // Behind a proxy, request.ip (the key of every per-address limit) is the client's only when
    // the proxy is trusted to say so in X-Forwarded-For.
    trustProxy: config.trustProxy,
    // Slow and idle clients cannot hold connections: a slow-loris sending headers a byte at a
    // time is cut at HEADERS_TIMEOUT_MS (checked every second, not Node's default 30 s).
    keepAliveTimeout: config.KEEP_ALIVE_TIMEOUT_MS,
    requestTimeout: config.REQUEST_TIMEOUT_MS,
    http: {
      headersTimeout: config.HEADERS_TIMEOUT_MS,
      connectionsCheckingInterval: Math.min(1_000, config.HEADERS_TIMEOUT_MS),
      requireHostHeader: false, // refused as problem+json instead (see refuseBeforeRouting)
    },
    clientErrorHandler: answerClientError,
    logController: new OneLinePerRequest(),
    childLoggerFactory: lazyRequestLogger,
    // A URL that cannot be decoded (e.g. /%ff) is refused before routing: same problem shape.
    frameworkErrors: (error, _request, reply) => {
      sendProblem(reply, problem(error.statusCode ?? 400, 'The URL is malformed.'))
    },
    ajv: {
      customOptions: {
        coerceTypes: false, // "12.3" is not an amount
        removeAdditional: false, // unknown fields are ignored, not rewritten
        allErrors: true, // name every offending field at once
      },
    },
  }).withTypeProvider<TypeBoxTypeProvider>()
  app.server.maxConnections = config.MAX_CONNECTIONS
  // JSON only: without this, Fastify would parse text/plain and answer 422 instead of 415.
  app.removeContentTypeParser('text/plain')
  parseJsonExactly(app)
  return app
}

/** The API in three scopes: writes (keyed when API_KEYS is set), reads, operations. */
async function registerApi(
  app: FastifyInstance,
  config: Config,
  store: TransactionStore,
  metrics: Metrics,
  failures: FailureLimit | undefined,
  ingest: NatsIngest | undefined,
): Promise<void> {
  const hub = new StreamHub({
    read: (query) => store.statistics(query),
    readBreakdown: (query) => store.breakdown(query),
    maxSubscribers: config.STREAM_MAX_SUBSCRIBERS,
    maxPerAddress: config.STREAM_MAX_PER_ADDRESS,
    maxLifetimeMs: config.STREAM_MAX_LIFETIME_MS,
  })
  // Before the server closes: it waits for open connections, and a stream never ends by itself.
  app.addHook('preClose', (done) => {
    hub.close()
    done()
  })
  await app.register(async (writes) => {
    if (config.apiKeys.length > 0) await requireApiKey(writes, config.apiKeys, failures)
    await writes.register(transactionRoutes, {
      store,
      idempotent: new IdempotentWrites(store, config.apiKeys.length > 0),
      metrics,
      windowMs: config.WINDOW_MS,
      clockSkewMs: config.CLOCK_SKEW_MS,
      batchMaxItems: config.BATCH_MAX_ITEMS,
      dimensions: config.dimensions,
    })
  })
  await app.register(async (reads) => {
    reads.addHook('onRequest', readHeaders)
    if (config.READ_AUTH === 'keyed') await requireApiKey(reads, config.apiKeys, failures)
    const bounds = {
      windowMs: config.WINDOW_MS,
      quantiles: config.QUANTILES,
      dimensions: config.dimensions,
    }
    await reads.register(statisticsRoutes, { store, ...bounds })
    if (config.dimensions.length > 0) {
      await reads.register(async (breakdowns) => {
        limitWeighted(breakdowns, config, 'breakdown', breakdownWeight(config.DIMENSION_MAX_VALUES))
        await breakdowns.register(breakdownRoutes, { store, ...bounds })
      })
    }
    await reads.register(liveRoutes, { store, hub, ...bounds })
    registerMetricsRoute(reads, metrics)
  })
  await app.register(async (operations) => {
    operations.addHook('onRequest', readHeaders)
    await operations.register(healthRoutes, { store, ingest })
  })
}
