import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { TransactionStore } from '../../store/store.js'

export const StatisticsSchema = Type.Object(
  {
    sum: Type.Number({ description: 'Exact sum, rounded once to the nearest double' }),
    avg: Type.Number({ description: 'Exact sum divided by count, rounded once' }),
    max: Type.Number({ description: 'Largest amount' }),
    min: Type.Number({ description: 'Smallest amount' }),
    count: Type.Integer({ description: 'Transactions in the window' }),
  },
  {
    description:
      'The transactions of the last 60 s at the instant of the request; all zero when there are none',
    examples: [{ sum: 1000, avg: 100, max: 200, min: 50, count: 10 }],
  },
)

export const statisticsRoutes: FastifyPluginAsyncTypebox<{ store: TransactionStore }> = async (
  app,
  { store },
) => {
  app.get(
    '/statistics',
    {
      schema: {
        summary: 'Statistics of the last 60 seconds',
        tags: ['statistics'],
        response: { 200: StatisticsSchema },
      },
    },
    () => store.statistics(),
  )
}
