import { createHash } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { type Awaitable, settle } from '../awaitable.js'
import type { Idempotency } from '../core/idempotency/idempotency.js'
import type { RecordOutcome, Transaction, TransactionStore } from '../store/store.js'
import { Problems } from './problems.js'

/** The request header (draft-ietf-httpapi-idempotency-key-header). */
export const IDEMPOTENCY_KEY = 'idempotency-key'
/** Set on an answer given again from what was remembered, not from recording again. */
export const REPLAYED = 'idempotent-replayed'
export const MAX_KEY_LENGTH = 255

/** The body's fingerprint, for requests that carry a key: taken from the text as it was sent. */
const fingerprints = new WeakMap<FastifyRequest, string>()

/** Called by the JSON parser with the body's text, for requests with an Idempotency-Key. */
export function noteBody(request: FastifyRequest, text: string): void {
  fingerprints.set(request, hash(text))
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('base64url')
}

/**
 * The key as sent: a token, or a Structured Fields string ("…", with \" and \\ escapes) as the
 * draft writes it; 1 to 255 printable ASCII characters either way.
 */
export function parseKey(header: string): string | undefined {
  const key = header.length >= 2 && header.startsWith('"') ? unquote(header) : header
  if (key === undefined || key.length === 0 || key.length > MAX_KEY_LENGTH) return undefined
  return /^[\x20-\x7e]+$/.test(key) ? key : undefined
}

/** A Structured Fields string's content (RFC 8941, 3.3.3), or undefined when it is not one. */
function unquote(text: string): string | undefined {
  let content = ''
  for (let i = 1; i < text.length - 1; i++) {
    let char = text[i] as string
    if (char === '"') return undefined
    if (char === '\\') {
      char = text[++i] as string
      if (char !== '"' && char !== '\\') return undefined
      if (i >= text.length - 1) return undefined
    }
    content += char
  }
  return text.endsWith('"') ? content : undefined
}

/** The scheme and its space before the API key in Authorization (see guards.ts). */
const BEARER_PREFIX = 'Bearer '

/** Whether the Idempotency-Key header came once: Node joins repeated ones with a comma. */
function sentOnce(request: FastifyRequest): boolean {
  const raw = request.raw.rawHeaders
  let seen = 0
  for (let i = 0; i < raw.length; i += 2) {
    if ((raw[i] as string).toLowerCase() === IDEMPOTENCY_KEY) seen++
  }
  return seen === 1
}

/**
 * Records the transactions of requests with an Idempotency-Key at most once per key: the store
 * checks and remembers the key atomically; this process also refuses a second request with a key
 * whose first is still being answered here (409), as the draft asks.
 */
export class IdempotentWrites {
  readonly #inFlight = new Set<string>()

  constructor(
    readonly store: TransactionStore,
    /** API keys are configured: idempotency keys are scoped by the caller's API key. */
    readonly scoped: boolean,
  ) {}

  /**
   * The request's idempotency, undefined without the header; a malformed header is 400, and so
   * is a header sent twice (Node would join the two into one key).
   */
  of(request: FastifyRequest): Idempotency | undefined {
    const header = request.headers[IDEMPOTENCY_KEY]
    if (header === undefined) return undefined
    const key = typeof header === 'string' && sentOnce(request) ? parseKey(header) : undefined
    if (key === undefined) {
      throw Problems.malformedIdempotencyKey(MAX_KEY_LENGTH)
    }
    // The API key itself, hashed (never stored as it is), read as @fastify/bearer-auth reads it
    // to authenticate: after "Bearer " (any case), trimmed. Two headers that authenticate as one
    // key are one scope.
    const apiKey = (request.headers.authorization ?? '').substring(BEARER_PREFIX.length).trim()
    const client = this.scoped ? hash(apiKey).slice(0, 16) : `ip:${request.ip}`
    const scope = this.scoped ? `${client}/` : ''
    return { key: `${scope}${key}`, fingerprint: fingerprints.get(request) ?? hash(''), client }
  }

  /**
   * Records once and gives the outcomes to `answer` with whether they are replayed; a key in
   * flight is 409, a key used with another body 422, a spent budget 503 with Retry-After.
   */
  record<R>(
    once: Idempotency,
    transactions: readonly Transaction[],
    reply: FastifyReply,
    answer: (outcomes: RecordOutcome[], replayed: boolean) => R,
  ): Awaitable<R> {
    if (this.#inFlight.has(once.key)) {
      reply.header('retry-after', 1)
      throw Problems.idempotencyKeyInFlight()
    }
    this.#inFlight.add(once.key)
    const done = () => this.#inFlight.delete(once.key)
    let recorded: ReturnType<TransactionStore['recordOnce']>
    try {
      recorded = this.store.recordOnce(transactions, once)
    } catch (error) {
      done()
      throw error
    }
    if (recorded instanceof Promise) recorded.then(done, done)
    else done()
    return settle(recorded, (result) => {
      if (result.kind === 'mismatch') {
        throw Problems.idempotencyKeyReused()
      }
      if (result.kind === 'full') {
        reply.header('retry-after', Math.max(1, Math.ceil(result.retryAfterMs / 1_000)))
        throw Problems.idempotencyBudgetSpent()
      }
      if (result.replayed) reply.header(REPLAYED, 'true')
      return answer(result.outcomes, result.replayed)
    })
  }
}
