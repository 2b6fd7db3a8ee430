import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { Config } from '../config.js'
import type { TransactionStore } from '../store/store.js'
import { registerDocs } from './docs.js'
import { errorHandler, notFoundHandler, ProblemSchema } from './problem.js'
import { OneLinePerRequest, sharedLogger } from './request-log.js'
import { healthRoutes } from './routes/health.js'
import { statisticsRoutes } from './routes/statistics.js'
import { transactionRoutes } from './routes/transactions.js'

export interface AppOptions {
  config: Pick<Config, 'BODY_LIMIT' | 'BATCH_MAX_ITEMS' | 'CLOCK_SKEW_MS' | 'LOG_LEVEL'>
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
  app.setErrorHandler(errorHandler)
  app.setNotFoundHandler(notFoundHandler)
  app.addSchema(ProblemSchema)
  await registerDocs(app, options.version ?? '0.0.0')

  await app.register(transactionRoutes, {
    store,
    clockSkewMs: config.CLOCK_SKEW_MS,
    batchMaxItems: config.BATCH_MAX_ITEMS,
  })
  await app.register(statisticsRoutes, { store })
  await app.register(healthRoutes, { store })
  return app
}
