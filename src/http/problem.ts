import { STATUS_CODES } from 'node:http'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { type Static, Type } from 'typebox'
import { StoreUnavailableError } from '../store/store.js'
import { NO_SNIFF } from './security-headers.js'

/** RFC 9457 problem details: the one shape of every error this service answers. */
export const FieldErrorSchema = Type.Object({
  field: Type.String({ description: 'The offending field, e.g. "amount" or "[3].timestamp"' }),
  message: Type.String({ description: 'What is wrong with it' }),
})

export const ProblemSchema = Type.Object(
  {
    type: Type.String({
      description: 'A URI naming the kind of problem; about:blank when the status says it all',
    }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    errors: Type.Optional(
      Type.Array(FieldErrorSchema, {
        description: 'For 422: each field and what is wrong with it',
      }),
    ),
  },
  { $id: 'Problem', title: 'Problem', description: 'RFC 9457 problem details' },
)

export type FieldError = Static<typeof FieldErrorSchema>
export type Problem = Static<typeof ProblemSchema>

export const PROBLEM_CONTENT_TYPE = 'application/problem+json'
export const problemRef = Type.Ref('Problem')

/** The answer of a route whose store cannot serve (Redis unreachable or timing out). */
export const storeUnavailable = {
  ...problemRef,
  description:
    'The store cannot serve right now (Redis unreachable, too slow, or a shard down), or, for a request with an Idempotency-Key, too many keys are remembered. The detail says whether anything may have been done; either way, retry after Retry-After, with the same Idempotency-Key',
}

/** An error that is the client's to fix, with the problem it is answered with. */
export class ProblemError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly errors?: FieldError[],
  ) {
    super(detail)
    this.name = 'ProblemError'
  }
}

export function problem(status: number, detail: string, errors?: FieldError[]): Problem {
  const body: Problem = {
    type: 'about:blank',
    title: STATUS_CODES[status] ?? 'Error',
    status,
    detail,
  }
  if (errors) body.errors = errors
  return body
}

export function sendProblem(reply: FastifyReply, body: Problem): FastifyReply {
  return reply.code(body.status).type(PROBLEM_CONTENT_TYPE).header(NO_SNIFF, 'nosniff').send(body)
}

/** Seconds a client waits before retrying a store that could not serve: reconnection takes ~1 s. */
const STORE_RETRY_AFTER_S = 1

/**
 * Validation failures become 422 with each offending field; other client errors keep their
 * status and the framework's message, which never holds internals; a store that cannot serve is
 * a 503 with Retry-After; anything else is a 500 whose cause goes to the log, never to the client.
 */
export function errorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  if (error instanceof ProblemError) {
    return sendProblem(reply, problem(error.status, error.detail, error.errors))
  }
  if (error instanceof StoreUnavailableError) {
    // The outage itself is logged once by the store's connection watcher; per request, debug.
    request.log.debug({ reason: error.message }, 'store unavailable')
    reply.header('retry-after', STORE_RETRY_AFTER_S)
    const detail = error.sent
      ? 'The store did not answer in time: what was asked may or may not have been done. Try again shortly.'
      : 'The store cannot serve right now: nothing was done. Try again shortly.'
    return sendProblem(reply, problem(503, detail))
  }
  if (error.validation) {
    const errors = error.validation.map(toFieldError)
    return sendProblem(reply, problem(422, 'The request does not satisfy the schema.', errors))
  }
  const status = error.statusCode ?? 500
  if (status === 415) {
    return sendProblem(reply, problem(415, 'Send the body as application/json.'))
  }
  if (status >= 400 && status < 500) return sendProblem(reply, problem(status, error.message))
  request.log.error({ err: error }, 'request failed')
  return sendProblem(reply, problem(500, 'The server could not handle the request.'))
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply) {
  return sendProblem(reply, problem(404, `No route for ${request.method} ${request.url}.`))
}

interface SchemaError {
  instancePath: string
  keyword: string
  message?: string | undefined
  params: Record<string, unknown>
}

/** Ajv's "/3/amount" reads "[3].amount" for people. */
export function toFieldError(error: SchemaError): FieldError {
  const missing = error.keyword === 'required' ? error.params.missingProperty : undefined
  const path = error.instancePath.split('/').slice(1)
  if (typeof missing === 'string') path.push(missing)
  const field = path
    .map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part}`))
    .join('')
    .replace(/^\./, '')
  return { field: field || '(body)', message: error.message ?? 'is invalid' }
}
