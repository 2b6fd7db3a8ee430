import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { TransactionStore } from '../../store/store.js'
import type { StreamHub, StreamQuery } from '../live/stream-hub.js'
import { problemRef, storeUnavailable } from '../problem.js'
import { Problems } from '../problems.js'
import { NO_SNIFF } from '../security-headers.js'
import {
  parseStatisticsQuery,
  type QueryBounds,
  statisticsQuerySchema,
} from '../statistics-query.js'
import { breakdownQuerySchema, parseBreakdownQuery } from './breakdown.js'

export interface LiveRoutesOptions extends QueryBounds {
  store: TransactionStore
  hub: StreamHub
}

/** by, order and limit of a breakdown, optional: a stream without `by` pushes statistics. */
function streamedBreakdownSchema(bounds: QueryBounds) {
  const { by, order, limit } = breakdownQuerySchema(bounds).properties
  return { by: Type.Optional(by), order, limit }
}

/** A stream's query: a breakdown when it names `by` (alone: a value or quantiles are refused). */
function parseStreamQuery(
  text: Record<string, string | undefined>,
  bounds: QueryBounds,
): StreamQuery | undefined {
  const by = text.by
  if (by === undefined) return parseStatisticsQuery(text, bounds)
  const clash = ['quantiles', ...bounds.dimensions].find((name) => text[name] !== undefined)
  if (clash !== undefined) {
    throw Problems.breakdownWithOthers(clash)
  }
  return parseBreakdownQuery({ ...text, by }, bounds)
}

export const MIN_INTERVAL_MS = 100
export const MAX_INTERVAL_MS = 60_000
export const DEFAULT_INTERVAL_MS = 1_000

const SeriesPointSchema = Type.Object({
  second: Type.Integer({ description: 'Epoch second' }),
  count: Type.Integer(),
  sum: Type.Number({ description: 'Exact sum, rounded once' }),
  min: Type.Number(),
  max: Type.Number(),
})

const SeriesSchema = Type.Object(
  {
    at: Type.Integer({ description: "The window's instant, epoch ms" }),
    windowMs: Type.Integer(),
    points: Type.Array(SeriesPointSchema, {
      description:
        'One point per second that meets the window, oldest first; the edge seconds are cut exactly at the window edges',
    }),
  },
  {
    examples: [
      {
        at: 1478192204000,
        windowMs: 60000,
        points: [{ second: 1478192144, count: 2, sum: 24.6, min: 12.3, max: 12.3 }],
      },
    ],
  },
)

export const liveRoutes: FastifyPluginAsyncTypebox<LiveRoutesOptions> = async (
  app,
  { store, hub, ...bounds },
) => {
  const { windowMs } = bounds
  app.get(
    '/statistics/series',
    {
      schema: {
        summary: 'The window per second, for charts',
        tags: ['statistics'],
        // Per-second quantiles are not offered: the window's are, at /statistics.
        querystring: Type.Object({ windowMs: statisticsQuerySchema(windowMs).windowMs }),
        response: {
          200: SeriesSchema,
          422: { ...problemRef, description: 'A query parameter is out of bounds' },
          503: storeUnavailable,
        },
      },
    },
    (request) =>
      store.series(parseStatisticsQuery({ windowMs: request.query.windowMs }, bounds)?.windowMs),
  )

  app.get(
    '/statistics/stream',
    {
      schema: {
        summary: 'The statistics, pushed every interval (Server-Sent Events)',
        description: `A text/event-stream. Each event is \`event: statistics\`, \`id:\` the instant (epoch ms) and \`data:\` what GET /statistics answers for the same query parameters, plus \`at\`, that instant (with \`by\`, when dimensions are configured: \`event: breakdown\` and what GET /statistics/breakdown answers). The first event comes at once, then one per interval; \`: heartbeat\` comments keep idle proxies from closing the stream; \`retry:\` tells browsers how long to wait before reconnecting. Live state has no history to replay, so a \`Last-Event-ID\` is accepted and answered with the current statistics. Subscribers beyond the cap get 503.`,
        tags: ['statistics'],
        // A string: the service validates without type coercion, and a query string is text.
        querystring: Type.Object({
          ...statisticsQuerySchema(windowMs, bounds.dimensions),
          ...(bounds.dimensions.length > 0 ? streamedBreakdownSchema(bounds) : {}),
          interval: Type.Optional(
            Type.String({
              pattern: '^[0-9]{1,9}$',
              description: `Milliseconds between events, ${MIN_INTERVAL_MS} to ${MAX_INTERVAL_MS}; default ${DEFAULT_INTERVAL_MS}`,
            }),
          ),
        }),
        produces: ['text/event-stream'],
        response: {
          200: {
            description: 'An endless stream of statistics events',
            content: {
              'text/event-stream': {
                schema: { type: 'string' },
                example:
                  'retry: 2000\n\nid: 1478192204000\nevent: statistics\ndata: {"sum":24.6,"avg":12.3,"max":12.3,"min":12.3,"count":2,"at":1478192204000}\n\n',
              },
            },
          },
          422: { ...problemRef, description: 'The interval or a query parameter is out of bounds' },
          429: {
            ...problemRef,
            description: 'Too many streams from this address (STREAM_MAX_PER_ADDRESS)',
          },
          503: {
            ...problemRef,
            description:
              'Too many subscribers, or too many different intervals and queries streamed at once (64)',
          },
        },
      },
    },
    (request, reply) => {
      const interval = Number(request.query.interval ?? DEFAULT_INTERVAL_MS)
      if (interval < MIN_INTERVAL_MS || interval > MAX_INTERVAL_MS) {
        throw Problems.intervalOutOfBounds(MIN_INTERVAL_MS, MAX_INTERVAL_MS)
      }
      const query = parseStreamQuery(request.query as Record<string, string | undefined>, bounds)
      const refusal = hub.refusal(request.ip, interval, query)
      if (refusal) {
        reply.header('retry-after', '5')
        throw Problems.streamRefused(refusal.status, refusal.detail)
      }
      reply.hijack()
      const raw = reply.raw
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        'x-accel-buffering': 'no', // nginx: do not buffer the stream
        [NO_SNIFF]: 'nosniff',
      })
      // HEAD: the headers a GET would have, at once, and no subscription.
      if (request.method === 'HEAD') {
        raw.end()
        return
      }
      const unsubscribe = hub.subscribe(interval, raw, request.ip, query)
      raw.on('close', () => unsubscribe?.())
    },
  )
}
