import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { settle } from '../../awaitable.js'
import { amountProblem, MAX_ABS_AMOUNT } from '../../core/amount/amount.js'
import type { RecordOutcome, Transaction, TransactionStore } from '../../store/store.js'
import { inexactFields } from '../exact-json.js'
import { type IdempotentWrites, MAX_KEY_LENGTH, REPLAYED } from '../idempotency.js'
import type { Metrics } from '../metrics.js'
import { type FieldError, problemRef, storeUnavailable, toFieldError } from '../problem.js'
import { Problems } from '../problems.js'
import { NO_SNIFF } from '../security-headers.js'
import { dimensionValueSchema } from '../statistics-query.js'
import { windowText } from '../window-text.js'

export interface TransactionRoutesOptions {
  store: TransactionStore
  idempotent: IdempotentWrites
  metrics: Metrics
  windowMs: number
  clockSkewMs: number
  batchMaxItems: number
  /** The names of the transactions' dimensions. */
  dimensions: readonly string[]
}

const EXAMPLE = { amount: 12.3, timestamp: 1478192204000 }

export const TransactionSchema = Type.Object(
  {
    amount: Type.Number({
      minimum: -MAX_ABS_AMOUNT,
      maximum: MAX_ABS_AMOUNT,
      description: `A JSON number, taken as the exact decimal it is written as (at most 18 decimals, magnitude at most ${MAX_ABS_AMOUNT})`,
    }),
    timestamp: Type.Integer({
      minimum: 0,
      maximum: Number.MAX_SAFE_INTEGER,
      description: 'When the transaction happened, in epoch milliseconds (UTC)',
    }),
  },
  { description: 'A transaction. Other fields are ignored.', examples: [EXAMPLE] },
)

/** A transaction with the configured dimensions as optional fields (none: TransactionSchema). */
export function transactionSchema(dimensions: readonly string[]) {
  if (dimensions.length === 0) return TransactionSchema
  return Type.Object(
    { ...TransactionSchema.properties, ...dimensionValueSchema(dimensions, 'Its') },
    {
      description: `A transaction, with its ${dimensions.join(', ')} when it has them. Other fields are ignored.`,
      examples: [{ ...EXAMPLE, [dimensions[0] as string]: 'EUR' }],
    },
  )
}

const IndexedFieldErrorSchema = Type.Object({
  index: Type.Integer({ description: 'The position of the transaction in the batch' }),
  field: Type.String(),
  message: Type.String(),
})

function batchResultSchema(windowMs: number) {
  return Type.Object(
    {
      stored: Type.Integer({ description: 'How many were stored' }),
      tooOld: Type.Integer({
        description: `How many were discarded as ${windowText(windowMs)} old or older`,
      }),
      invalid: Type.Integer({
        description: 'How many broke the rules; nothing of them was stored',
      }),
      results: Type.Array(Type.Enum(['stored', 'tooOld', 'invalid']), {
        description: 'The outcome of each transaction, in the order sent',
      }),
      errors: Type.Array(IndexedFieldErrorSchema, {
        maxItems: MAX_LISTED_ERRORS,
        description: `What is wrong with the invalid ones, in order: the first ${MAX_LISTED_ERRORS} errors`,
      }),
      unlistedErrors: Type.Integer({
        description: `Errors beyond the first ${MAX_LISTED_ERRORS}, counted but not listed, so that an answer stays a small multiple of its request`,
      }),
    },
    {
      examples: [
        {
          stored: 1,
          tooOld: 1,
          invalid: 1,
          results: ['stored', 'tooOld', 'invalid'],
          errors: [{ index: 2, field: 'amount', message: 'must be number' }],
          unlistedErrors: 0,
        },
      ],
    },
  )
}

type ItemResult = 'stored' | 'tooOld' | 'invalid'

/** Errors listed in a batch's answer, at most: the rest are counted (unlistedErrors). */
export const MAX_LISTED_ERRORS = 100

/** The Idempotency-Key header, documented; checked by the route (a malformed one is 400). */
const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      description: `Makes the request safe to retry: 1 to ${MAX_KEY_LENGTH} printable ASCII characters (a token, or a quoted string as in the IETF draft), unique per request. A request sent again with the same key and body is not recorded again: it gets the first answer again, with \`${REPLAYED}: true\`. Remembered for at least the window plus the clock-skew allowance; scoped by API key.`,
    }),
  ),
})

/**
 * The Idempotency-Key header in the OpenAPI document only. A header schema in the route's own
 * schema would have Fastify validate the headers of every request, the great many without the
 * header too; the route parses the header itself (IdempotentWrites.of), and only when present.
 */
const documentIdempotencyHeader = {
  swaggerTransform: ({ schema, url }: { schema: object; url: string }) => ({
    schema: { ...schema, headers: IdempotencyHeaders },
    url,
  }),
}

const idempotencyResponses = {
  409: {
    ...problemRef,
    description: 'A request with this Idempotency-Key is still being answered',
  },
}

/** A response with no body: documented, with nothing to serialise. */
function emptyBody(description: string) {
  return Type.Unsafe<undefined>({ description })
}

export const transactionRoutes: FastifyPluginAsyncTypebox<TransactionRoutesOptions> = async (
  app,
  { store, idempotent, metrics, windowMs, clockSkewMs, batchMaxItems, dimensions },
) => {
  const schema = transactionSchema(dimensions)
  const age = windowText(windowMs)
  /** The 422 field error for an outcome other than stored or too old. */
  function outcomeError(outcome: RecordOutcome, transaction: Transaction): FieldError | undefined {
    switch (outcome) {
      case 'tooFarInFuture':
        return {
          field: 'timestamp',
          message: `must not be more than ${clockSkewMs} ms in the future`,
        }
      case 'invalidAmount':
        return { field: 'amount', message: amountProblem(transaction.amount) ?? 'is invalid' }
      case 'invalidTimestamp':
        return { field: 'timestamp', message: 'must be a non-negative safe integer' }
      default:
        return undefined
    }
  }

  /**
   * Sends the answer to a single POST. Sends without returning the reply: a returned reply is a
   * thenable that Fastify would await, a cost the memory store's synchronous answer does not need.
   */
  function answerOne(
    reply: FastifyReply,
    transaction: Transaction,
    outcomes: readonly RecordOutcome[],
    replayed: boolean,
  ): void {
    if (replayed) metrics.replayed()
    else metrics.countOutcomes(outcomes)
    const [outcome = 'invalidTimestamp'] = outcomes
    // No nosniff on an answer without a body: there is nothing to sniff (security-headers.ts).
    if (outcome === 'stored') {
      reply.code(201).send()
    } else if (outcome === 'tooOld') {
      reply.code(204).send()
    } else {
      const error = outcomeError(outcome, transaction)
      throw Problems.transactionBreaksRules(error ? [error] : [])
    }
  }

  /** The answer to a batch: the outcome of each item, in order, and what is wrong with each invalid one. */
  function judge(batch: SortedBatch, outcomes: readonly RecordOutcome[]) {
    const { items, valid, validIndex, results, errors } = batch
    let stored = 0
    let tooOld = 0
    for (let i = 0; i < outcomes.length; i++) {
      const outcome = outcomes[i] as RecordOutcome
      const index = validIndex[i] as number
      if (outcome === 'stored') stored++
      else if (outcome === 'tooOld') tooOld++
      else {
        const error = outcomeError(outcome, valid[i] as Transaction)
        if (error) errors.push({ index, ...error })
      }
      results[index] = outcome === 'stored' || outcome === 'tooOld' ? outcome : 'invalid'
    }
    errors.sort((a, b) => a.index - b.index)
    const listed = errors.slice(0, MAX_LISTED_ERRORS)
    return {
      stored,
      tooOld,
      invalid: items.length - stored - tooOld,
      results,
      errors: listed,
      unlistedErrors: errors.length - listed.length,
    }
  }

  app.post(
    '/transactions',
    {
      config: documentIdempotencyHeader,
      onError(_request, _reply, error, done) {
        if (error.validation) metrics.reject('schema')
        done()
      },
      schema: {
        summary: 'Record a transaction',
        description: `Stores the transaction when its timestamp lies in the last ${age} (late arrivals included) or at most the clock-skew allowance (${clockSkewMs} ms) in the future.`,
        tags: ['transactions'],
        body: schema,
        response: {
          ...idempotencyResponses,
          201: emptyBody('Stored'),
          401: { ...problemRef, description: 'No valid API key (when API_KEYS is set)' },
          204: emptyBody(`Discarded: the timestamp is ${age} old or older`),
          400: { ...problemRef, description: 'Malformed JSON, or a malformed Idempotency-Key' },
          413: { ...problemRef, description: 'Body over the limit' },
          415: { ...problemRef, description: 'Content type other than application/json' },
          422: {
            ...problemRef,
            description:
              'Well-formed JSON that breaks the rules, or an Idempotency-Key used before with another body',
          },
          503: storeUnavailable,
        },
      },
    },
    (request, reply) => {
      const transaction = request.body
      const inexact = inexactFields(transaction)
      if (inexact) throw Problems.transactionBreaksRules(inexact)
      const once = idempotent.of(request)
      if (once) {
        return idempotent.record(once, [transaction], reply, (outcomes, replayed) =>
          answerOne(reply, transaction, outcomes, replayed),
        )
      }
      const outcomes = store.record([transaction])
      if (outcomes instanceof Promise) {
        return outcomes.then((settled) => answerOne(reply, transaction, settled, false))
      }
      // The memory store's answer is at hand: no promise and no closure for the usual POST.
      answerOne(reply, transaction, outcomes, false)
    },
  )

  app.post(
    '/transactions/batch',
    {
      config: documentIdempotencyHeader,
      schema: {
        summary: 'Record many transactions in one request',
        description: `Up to ${batchMaxItems} transactions. Each is judged on its own and the answer says, per transaction, whether it was stored, discarded as too old or invalid; a body that is not a JSON array of at most ${batchMaxItems} items stores nothing.`,
        tags: ['transactions'],
        body: Type.Array(Type.Unknown(), {
          maxItems: batchMaxItems,
          description: 'Transactions, as for POST /transactions',
          examples: [[EXAMPLE, { amount: -5.25, timestamp: 1478192203500 }]],
        }),
        response: {
          ...idempotencyResponses,
          200: batchResultSchema(windowMs),
          401: { ...problemRef, description: 'No valid API key (when API_KEYS is set)' },
          400: { ...problemRef, description: 'Malformed JSON, or a malformed Idempotency-Key' },
          413: { ...problemRef, description: 'Body over the limit' },
          415: { ...problemRef, description: 'Content type other than application/json' },
          422: {
            ...problemRef,
            description: `Not an array, or more than ${batchMaxItems} items, or an Idempotency-Key used before with another body`,
          },
          503: storeUnavailable,
        },
      },
    },
    (request, reply) => {
      reply.header(NO_SNIFF, 'nosniff')
      const once = idempotent.of(request)
      const batch = sortItems(request.body, request.compileValidationSchema(schema))
      if (once) {
        return idempotent.record(once, batch.valid, reply, (outcomes, replayed) => {
          if (replayed) {
            metrics.replayed()
          } else {
            metrics.reject('schema', batch.items.length - batch.valid.length)
            metrics.countOutcomes(outcomes)
          }
          return judge(batch, outcomes)
        })
      }
      metrics.reject('schema', batch.items.length - batch.valid.length)
      return settle(store.record(batch.valid), (outcomes) => {
        metrics.countOutcomes(outcomes)
        return judge(batch, outcomes)
      })
    },
  )

  app.delete(
    '/transactions',
    {
      schema: {
        summary: 'Delete every transaction',
        tags: ['transactions'],
        response: {
          204: emptyBody('The window is empty'),
          401: { ...problemRef, description: 'No valid API key (when API_KEYS is set)' },
          503: storeUnavailable,
        },
      },
    },
    (_request, reply) =>
      settle(store.clear(), () => {
        reply.code(204).send()
      }),
  )
}

interface SortedBatch {
  items: readonly unknown[]
  valid: Transaction[]
  /** Where each valid transaction stands in the batch. */
  validIndex: number[]
  results: ItemResult[]
  errors: Array<FieldError & { index: number }>
}

/**
 * Checks each item with the transaction schema on its own, so that one bad item does not sink
 * the batch: the valid ones go to the store, the others are answered as invalid with their errors.
 */
function sortItems(items: readonly unknown[], validate: ValidateItem): SortedBatch {
  const batch: SortedBatch = {
    items,
    valid: [],
    validIndex: [],
    results: new Array<ItemResult>(items.length),
    errors: [],
  }
  for (let index = 0; index < items.length; index++) {
    const item = items[index]
    const inexact = inexactFields(item)
    if (validate(item) && !inexact) {
      batch.valid.push(item as Transaction)
      batch.validIndex.push(index)
      continue
    }
    batch.results[index] = 'invalid'
    const errors = inexact ?? (validate.errors ?? []).map(toFieldError)
    for (const { field, message } of errors) {
      batch.errors.push({ index, field: field === '(body)' ? '(item)' : field, message })
    }
  }
  return batch
}

type ValidateItem = ReturnType<FastifyRequest['compileValidationSchema']>
