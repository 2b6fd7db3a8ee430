import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { settle } from '../../awaitable.js'
import type { TransactionStore } from '../../store/store.js'
import { problemRef } from '../problem.js'
import { Problems } from '../problems.js'

const StatusSchema = Type.Object({ status: Type.String() }, { examples: [{ status: 'ok' }] })

export interface HealthRoutesOptions {
  store: TransactionStore
  /** Ingest from NATS, when configured: not ready while its consumer is not connected. */
  ingest?: { readonly connected: boolean } | undefined
}

export const healthRoutes: FastifyPluginAsyncTypebox<HealthRoutesOptions> = async (
  app,
  { store, ingest },
) => {
  app.get(
    '/health',
    {
      schema: {
        summary: 'Liveness: 200 while the process can serve',
        tags: ['operations'],
        response: { 200: StatusSchema },
      },
    },
    async () => ({ status: 'ok' }),
  )

  app.get(
    '/ready',
    {
      schema: {
        summary:
          'Readiness: 200 while the store can serve (and, with INGEST_NATS_URL, the NATS consumer is connected), 503 otherwise',
        tags: ['operations'],
        response: {
          200: StatusSchema,
          503: { ...problemRef, description: 'The store cannot serve' },
        },
      },
    },
    () =>
      settle(store.ready(), (ready) => {
        if (!ready) throw Problems.storeNotReady()
        if (ingest !== undefined && !ingest.connected) {
          throw Problems.natsNotConnected()
        }
        return { status: 'ready' }
      }),
  )
}
