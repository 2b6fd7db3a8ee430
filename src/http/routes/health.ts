import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { settle } from '../../awaitable.js'
import type { TransactionStore } from '../../store/store.js'
import { ProblemError, problemRef } from '../problem.js'

const StatusSchema = Type.Object({ status: Type.String() }, { examples: [{ status: 'ok' }] })

export const healthRoutes: FastifyPluginAsyncTypebox<{ store: TransactionStore }> = async (
  app,
  { store },
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
        summary: 'Readiness: 200 while the store can serve, 503 otherwise',
        tags: ['operations'],
        response: {
          200: StatusSchema,
          503: { ...problemRef, description: 'The store cannot serve' },
        },
      },
    },
    () =>
      settle(store.ready(), (ready) => {
        if (!ready) throw new ProblemError(503, 'The store cannot serve right now.')
        return { status: 'ready' }
      }),
  )
}
