import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { settle } from '../../awaitable.js'
import { MAX_BREAKDOWN_LIMIT } from '../../core/dimensions/breakdown.js'
import type { BreakdownQuery, TransactionStore } from '../../store/store.js'
import { problemRef, storeUnavailable } from '../problem.js'
import { Problems } from '../problems.js'
import {
  parseStatisticsQuery,
  type QueryBounds,
  statisticsQuerySchema,
} from '../statistics-query.js'
import { windowText } from '../window-text.js'
import { StatisticsSchema } from './statistics.js'

const FIVE = ['sum', 'avg', 'max', 'min', 'count'] as const
const FiveNumbers = Type.Pick(StatisticsSchema, FIVE)

export const BreakdownSchema = Type.Object(
  {
    by: Type.String({ description: 'The dimension' }),
    order: Type.Enum(['sum', 'count'], { description: 'What the values are ranked by' }),
    values: Type.Array(
      Type.Intersect([
        Type.Object({ value: Type.String() }),
        FiveNumbers,
        Type.Object({
          incomplete: Type.Boolean({
            description:
              'As for GET /statistics with this value: some of its transactions may be in other',
          }),
        }),
      ]),
      {
        description:
          'The top values by exact sum (or count), greatest first; ties ordered by value (code units)',
      },
    ),
    other: Type.Intersect([FiveNumbers], {
      description:
        'Every transaction with this field not in values: the values not listed, and the overflow of values beyond the bound',
    }),
    missing: Type.Intersect([FiveNumbers], {
      description: 'Every transaction without this field',
    }),
  },
  {
    description:
      'values + other + missing are the window: their counts and exact sums add up to GET /statistics, and its min and max are theirs',
  },
)

export interface BreakdownRoutesOptions extends QueryBounds {
  store: TransactionStore
}

/** The breakdown query, checked: 422 naming the parameter out of bounds. */
export function parseBreakdownQuery(
  text: { by: string; order?: string; limit?: string; windowMs?: string },
  bounds: QueryBounds,
): BreakdownQuery {
  const limit = Number(text.limit ?? 10)
  if (limit < 1 || limit > MAX_BREAKDOWN_LIMIT) {
    throw Problems.limitOutOfBounds(MAX_BREAKDOWN_LIMIT)
  }
  const windowMs = parseStatisticsQuery({ windowMs: text.windowMs }, bounds)?.windowMs
  return {
    dimension: text.by,
    order: text.order === 'count' ? 'count' : 'sum',
    limit,
    windowMs,
  }
}

/** GET /statistics/breakdown: only when dimensions are configured. */
export const breakdownRoutes: FastifyPluginAsyncTypebox<BreakdownRoutesOptions> = async (
  app,
  { store, ...bounds },
) => {
  // As for GET /statistics: the store answers the same object within a millisecond, so its
  // JSON is made once for every reader in between.
  const cache = { last: undefined as object | undefined, body: '' }
  app.get(
    '/statistics/breakdown',
    {
      schema: {
        summary: `The top values of a dimension over the last ${windowText(bounds.windowMs)}`,
        tags: ['statistics'],
        querystring: breakdownQuerySchema(bounds),
        response: {
          200: BreakdownSchema,
          422: { ...problemRef, description: 'A query parameter is out of bounds' },
          503: storeUnavailable,
        },
      },
    },
    (request, reply) =>
      settle(store.breakdown(parseBreakdownQuery(request.query, bounds)), (breakdown) => {
        if (breakdown !== cache.last) {
          cache.body = String(reply.serialize(breakdown))
          cache.last = breakdown
        }
        reply.type('application/json; charset=utf-8').send(cache.body as never)
      }),
  )
}

/** by, order, limit and windowMs: shared with the stream, which pushes breakdowns too. */
export function breakdownQuerySchema(bounds: QueryBounds) {
  return Type.Object({
    by: Type.Enum([...bounds.dimensions], {
      description: 'The dimension to break the window down by',
    }),
    order: Type.Optional(
      Type.Enum(['sum', 'count'], { description: 'Rank by exact sum (the default) or by count' }),
    ),
    limit: Type.Optional(
      Type.String({
        pattern: '^[0-9]{1,4}$',
        description: `How many values to list: 1 to ${MAX_BREAKDOWN_LIMIT}, 10 by default`,
      }),
    ),
    windowMs: statisticsQuerySchema(bounds.windowMs).windowMs,
  })
}
