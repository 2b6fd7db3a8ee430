import type { FastifyInstance } from 'fastify'

/** What became of a message. */
export type IngestOutcome = 'stored' | 'replayed' | 'tooOld' | 'invalid'

export type SubmitResult =
  | {
      outcome: IngestOutcome
      /** Its transactions by what became of them (a replay counts none: they were counted before). */
      stored: number
      tooOld: number
      invalid: number
    }
  /** The store could not serve (or the key is being answered): nothing was done; deliver again. */
  | { outcome: 'retry' }

/** Submits a message's bytes (UTF-8 JSON) under an idempotency key. */
export type Submit = (data: Uint8Array, key: string) => Promise<SubmitResult>

const OPEN_BRACKET = 0x5b

/** Whether the JSON text starts with '[' (after white space): a batch. */
function isBatch(data: Uint8Array): boolean {
  for (const byte of data) {
    if (byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d) continue
    return byte === OPEN_BRACKET
  }
  return false
}

/**
 * Messages go through the service's own routes, as POST /transactions (an object) or POST
 * /transactions/batch (an array) with the message's Idempotency-Key: the same parsing, exactness
 * checks, validation, idempotency, store and metrics as HTTP clients get, and no second copy of
 * any of them. `apiKey` authenticates them where API_KEYS is set.
 */
export function submitThrough(app: FastifyInstance, apiKey: string | undefined): Submit {
  return async (data, key) => {
    const batch = isBatch(data)
    const response = await app.inject({
      method: 'POST',
      url: batch ? '/transactions/batch' : '/transactions',
      remoteAddress: 'nats',
      headers: {
        'content-type': 'application/json',
        'idempotency-key': key,
        ...(apiKey === undefined ? {} : { authorization: `Bearer ${apiKey}` }),
      },
      // The bytes as they came: the route's parser decodes them once.
      payload: Buffer.from(data.buffer, data.byteOffset, data.byteLength),
    })
    const status = response.statusCode
    if (status === 503 || status === 409 || status === 429) return { outcome: 'retry' }
    const replayed = response.headers['idempotent-replayed'] === 'true'
    const counted = (stored: number, tooOld: number, invalid: number): SubmitResult => {
      if (replayed) return { outcome: 'replayed', stored: 0, tooOld: 0, invalid: 0 }
      const outcome = stored > 0 ? 'stored' : tooOld > 0 ? 'tooOld' : 'invalid'
      return { outcome, stored, tooOld, invalid }
    }
    if (batch && status === 200) {
      const { stored, tooOld, invalid } = response.json() as Record<string, number>
      return counted(stored ?? 0, tooOld ?? 0, invalid ?? 0)
    }
    if (status === 201) return counted(1, 0, 0)
    if (status === 204) return counted(0, 1, 0)
    // 400, 413, 415, 422: the message is not one the service takes, whatever is retried.
    return counted(0, 0, batch ? Math.max(1, countItems(data)) : 1)
  }
}

/** The items of a batch that could not be taken whole (too large, not JSON): counted if it parses. */
function countItems(data: Uint8Array): number {
  try {
    const parsed = JSON.parse(Buffer.from(data).toString('utf8')) as unknown
    return Array.isArray(parsed) ? parsed.length : 1
  } catch {
    return 1
  }
}
