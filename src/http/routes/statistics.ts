import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { settle } from '../../awaitable.js'
import type { Statistics, TransactionStore } from '../../store/store.js'
import { problemRef, storeUnavailable } from '../problem.js'
import {
  parseStatisticsQuery,
  type QueryBounds,
  statisticsQuerySchema,
} from '../statistics-query.js'
import { windowText } from '../window-text.js'

export const StatisticsSchema = Type.Object(
  {
    sum: Type.Number({ description: 'Exact sum, rounded once to the nearest double' }),
    avg: Type.Number({ description: 'Exact sum divided by count, rounded once' }),
    max: Type.Number({ description: 'Largest amount' }),
    min: Type.Number({ description: 'Smallest amount' }),
    count: Type.Integer({ description: 'Transactions in the window' }),
    quantiles: Type.Optional(
      Type.Record(Type.String(), Type.Number(), {
        description:
          'Only when asked: each quantile q asked, keyed by its shortest decimal, an estimate of the amount at rank ⌊q × (n − 1)⌋ of the sorted amounts of the window (the set the five numbers are of), within the relative accuracy QUANTILE_ACCURACY (1 % by default): |estimate − true| ≤ α × |true|. q = 0 and q = 1 are the exact min and max. An approximation by nature; the five numbers never are. 0 when the window is empty.',
      }),
    ),
    incomplete: Type.Optional(
      Type.Boolean({
        description:
          'Only for a value of a dimension (e.g. ?currency=EUR): true while some of its transactions in the window may have been counted in the overflow instead, because the values tracked had reached DIMENSION_MAX_VALUES (or the memory store its DIMENSION_MEMORY_MB). The numbers are then of the transactions that were tracked: exact for them, short of the whole value.',
      }),
    ),
    quantileEdgeMs: Type.Optional(
      Type.Integer({
        description:
          'Only with quantiles: 1 when they are of exactly the window; otherwise (the quantile memory budget was reached) their set was cut at blocks of this many ms, so it may also hold transactions up to quantileEdgeMs - 1 ms beyond either edge.',
      }),
    ),
  },
  {
    description:
      'The transactions of the window (WINDOW_MS, 60 s by default) at the instant of the request; all zero when there are none',
    examples: [{ sum: 1000, avg: 100, max: 200, min: 50, count: 10 }],
  },
)

export interface StatisticsRoutesOptions extends QueryBounds {
  store: TransactionStore
}

export const statisticsRoutes: FastifyPluginAsyncTypebox<StatisticsRoutesOptions> = async (
  app,
  { store, ...bounds },
) => {
  const { windowMs, dimensions } = bounds
  // The window answers the same object until a millisecond passes or a transaction arrives (and,
  // for a query, while the same is asked), so its JSON is made once and sent as is to every
  // reader in between: turning the doubles into text costs more than the snapshot itself.
  const plain = { last: undefined as Readonly<Statistics> | undefined, body: '' }
  const queried = { last: undefined as Readonly<Statistics> | undefined, body: '' }

  app.get(
    '/statistics',
    {
      schema: {
        summary: `Statistics of the last ${windowText(windowMs)}`,
        tags: ['statistics'],
        querystring: Type.Object(statisticsQuerySchema(windowMs, dimensions)),
        response: {
          200: StatisticsSchema,
          422: {
            ...problemRef,
            description:
              'A query parameter is out of bounds, or names more than one dimension, or quantiles with a dimension',
          },
          503: storeUnavailable,
        },
      },
    },
    (request, reply) => {
      const query = parseStatisticsQuery(request.query, bounds)
      const cache = query === undefined ? plain : queried
      return settle(store.statistics(query), (statistics) => {
        if (statistics !== cache.last) {
          cache.body = String(reply.serialize(statistics))
          cache.last = statistics
        }
        // Already serialised by the route's own schema: a string is sent as is.
        reply.type('application/json; charset=utf-8').send(cache.body as never)
      })
    },
  )
}
