import { type FieldError, ProblemError } from './problem.js'

/** A 422 naming one offending field. */
function invalid(detail: string, field: string, message: string): ProblemError {
  return new ProblemError(422, detail, [{ field, message }])
}

/**
 * The catalogue of the problems the routes answer, each by name with its status and detail, so
 * that a reader finds every answer the service can give in one place and a detail is written
 * once. (Errors of the framework itself, before a route, are shaped in problem.ts and
 * before-routing.ts.)
 */
export const Problems = {
  /** 400: the Idempotency-Key header is malformed, or was sent twice. */
  malformedIdempotencyKey: (maxLength: number) =>
    new ProblemError(
      400,
      `The Idempotency-Key header must be 1 to ${maxLength} printable ASCII characters, sent once.`,
    ),
  /** 401: no valid API key where API_KEYS is set. */
  unauthorized: () =>
    new ProblemError(401, 'A valid API key is required: Authorization: Bearer <key>.'),
  /** 409: a request with the same Idempotency-Key is still being answered here. */
  idempotencyKeyInFlight: () =>
    new ProblemError(
      409,
      'A request with this Idempotency-Key is still being answered: retry once it is.',
    ),
  /** 422: the Idempotency-Key was used with another body. */
  idempotencyKeyReused: () =>
    new ProblemError(
      422,
      'This Idempotency-Key was used with a different request body: nothing was done.',
    ),
  /** 503: no room to remember one more Idempotency-Key (the budget, or the client's share). */
  idempotencyBudgetSpent: () =>
    new ProblemError(
      503,
      'Too many idempotency keys are remembered now: nothing was done. Retry after the time Retry-After gives.',
    ),
  /** 422: a transaction that breaks the rules, with what is wrong with it. */
  transactionBreaksRules: (errors: FieldError[]) =>
    new ProblemError(422, 'The transaction breaks the rules.', errors),
  /** 422: quantiles asked of one value of a dimension. */
  quantilesPerValue: (dimension: string) =>
    invalid('Quantiles are not kept per value.', 'quantiles', `cannot be asked with ${dimension}`),
  /** 422: a query's windowMs outside 1 to the window. */
  windowOutOfBounds: (windowMs: number) =>
    invalid(
      'The window asked for is out of bounds.',
      'windowMs',
      `must be an integer from 1 to ${windowMs}`,
    ),
  /** 422: quantiles asked of a service that keeps none. */
  quantilesOff: () =>
    invalid(
      'This service keeps no quantiles.',
      'quantiles',
      'quantiles are off here: QUANTILES is false, its default',
    ),
  /** 422: a query naming two dimensions. */
  twoDimensions: (first: string, second: string) =>
    invalid('A query names one dimension at most.', second, `cannot be asked with ${first}`),
  /** 422: quantiles that are not 1 to `max` decimals from 0 to 1. */
  invalidQuantiles: (max: number) =>
    invalid(
      'The quantiles asked for are not valid.',
      'quantiles',
      `must be 1 to ${max} comma-separated decimals from 0 to 1`,
    ),
  /** 422: a breakdown stream asked with another query's parameters. */
  breakdownWithOthers: (field: string) =>
    invalid('A breakdown is streamed on its own.', field, 'cannot be asked with by'),
  /** 422: a stream interval out of bounds. */
  intervalOutOfBounds: (min: number, max: number) =>
    invalid('The interval is out of bounds.', 'interval', `must be between ${min} and ${max}`),
  /** 422: a breakdown limit out of bounds. */
  limitOutOfBounds: (max: number) =>
    invalid('The limit is out of bounds.', 'limit', `must be an integer from 1 to ${max}`),
  /** 429 or 503: a stream the hub refuses, with its reason. */
  streamRefused: (status: number, detail: string) => new ProblemError(status, detail),
  /** 429: an address out of failed requests (wrong keys, unknown routes). */
  tooManyFailures: (max: number, window: string) =>
    new ProblemError(
      429,
      `Too many failed requests from this address: at most ${max} per ${window}.`,
    ),
  /** 429: the per-address rate limit. */
  rateLimited: (max: number, window: string, after: string) =>
    new ProblemError(
      429,
      `Rate limit of ${max} requests per ${window} reached; retry after ${after}.`,
    ),
  /** 503: /ready while the store cannot serve. */
  storeNotReady: () => new ProblemError(503, 'The store cannot serve right now.'),
  /** 503: /ready while the NATS consumer is not connected. */
  natsNotConnected: () => new ProblemError(503, 'The NATS consumer is not connected.'),
} as const
