import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { Config } from '../config.js'
import type { TransactionStore } from '../store/store.js'
import { registerDashboard } from './dashboard.js'
import { registerDocs } from './docs.js'
import { StreamHub } from './live/stream-hub.js'
import { Metrics, registerMetricsRoute, registerRequestTiming } from './metrics.js'
import { errorHandler, notFoundHandler, ProblemSchema } from './problem.js'
import { OneLinePerRequest, sharedLogger } from './request-log.js'
import { healthRoutes } from './routes/health.js'
import { liveRoutes } from './routes/live.js'
import { statisticsRoutes } from './routes/statistics.js'
import { transactionRoutes } from './routes/transactions.js'

export interface AppOptions {
  config: Pick<
    Config,
    'BODY_LIMIT' | 'BATCH_MAX_ITEMS' | 'CLOCK_SKEW_MS' | 'LOG_LEVEL' | 'STREAM_MAX_SUBSCRIBERS'
  >
  store: TransactionStore
  /** Overrides the logger built from LOG_LEVEL (tests pass a stream to read it). */
  logger?: FastifyServerOptions['logger']
  version?: string
}

/** The whole HTTP service around a store, ready to listen or to be injected into. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { config, store } = options
  const app = Fastify({
    logger: options.logger ?? { level: config.LOG_LEVEL },
    bodyLimit: config.BODY_LIMIT,
    logController: new OneLinePerRequest(),
    childLoggerFactory: sharedLogger,
    ajv: {
      customOptions: {
        coerceTypes: false, // "12.3" is not an amount
        removeAdditional: false, // unknown fields are ignored, not rewritten
        allErrors: true, // name every offending field at once
      },
    },
  }).withTypeProvider<TypeBoxTypeProvider>()

  // JSON only: without this, Fastify would parse text/plain and answer 422 instead of 415.
  app.removeContentTypeParser('text/plain')
  const metrics = new Metrics(store)
  registerRequestTiming(app, metrics)
  app.setErrorHandler(errorHandler)
  app.setNotFoundHandler((request, reply) => {
    metrics.observeUnmatched(request.method, 404, reply.elapsedTime / 1000)
    return notFoundHandler(request, reply)
  })
  app.addSchema(ProblemSchema)
  await registerDocs(app, options.version ?? '0.0.0')
  await registerDashboard(app)
  registerMetricsRoute(app, metrics)
  const hub = new StreamHub({
    read: () => store.statistics(),
    maxSubscribers: config.STREAM_MAX_SUBSCRIBERS,
  })
  // Before the server closes: it waits for open connections, and a stream never ends by itself.
  app.addHook('preClose', (done) => {
    hub.close()
    done()
  })

  await app.register(transactionRoutes, {
    store,
    metrics,
    clockSkewMs: config.CLOCK_SKEW_MS,
    batchMaxItems: config.BATCH_MAX_ITEMS,
  })
  await app.register(statisticsRoutes, { store })
  await app.register(liveRoutes, { store, hub })
  await app.register(healthRoutes, { store })
  return app
}
