import type { FastifyInstance } from 'fastify'
import { parse as parseLosslessly } from 'lossless-json'
import { isWrittenExactly } from '../core/amount/amount.js'
import { IDEMPOTENCY_KEY, noteBody } from './idempotency.js'
import type { FieldError } from './problem.js'

/**
 * Whether a JSON number in the text may have been parsed to a double that is not the decimal the
 * client wrote: a run of 16 or more digits (with its point), or an exponent after a digit. Any
 * decimal of at most 15 significant digits written without an exponent is the shortest form of
 * the double it parses to. Runs an every POST, so it reads as few characters as it can: a run of
 * RUN must hold the character RUN - 1 places after any non-digit, so the scan jumps RUN at a time
 * over text without digits; exponents are found by the native indexOf. A regular expression
 * costs several times more.
 */
function mayBeInexact(text: string): boolean {
  for (let end = RUN - 1; end < text.length; ) {
    if (!isDigitOrPoint(text.charCodeAt(end))) {
      end += RUN
      continue
    }
    let start = end - 1
    while (start > end - RUN && isDigitOrPoint(text.charCodeAt(start))) start--
    if (start === end - RUN) return true
    end = start + RUN // the next run that can be long enough starts after `start`
  }
  return hasExponent(text, 'e') || hasExponent(text, 'E')
}

/** A run of this many digits (and points) may not be the decimal written. */
const RUN = 16

function hasExponent(text: string, letter: string): boolean {
  for (let at = text.indexOf(letter); at > 0; at = text.indexOf(letter, at + 1)) {
    if (isDigitOrPoint(text.charCodeAt(at - 1))) return true
  }
  return false
}

function isDigitOrPoint(code: number): boolean {
  return (code >= CHAR_0 && code <= CHAR_9) || code === CHAR_DOT
}

const CHAR_0 = 48
const CHAR_9 = 57
const CHAR_DOT = 46

/** The fields of a transaction whose number must be the one written. */
const EXACT_FIELDS = ['amount', 'timestamp'] as const

/** A number whose double is not the decimal written; its text, for the message. */
class InexactNumber {
  constructor(readonly written: string) {}
}

/** The fields of each transaction object whose numbers are not as written. */
const inexact = new WeakMap<object, FieldError[]>()

/**
 * What is not exact as written in a transaction of the body (the body itself, or an item of a
 * batch): undefined for the usual transaction.
 */
export function inexactFields(transaction: unknown): FieldError[] | undefined {
  return typeof transaction === 'object' && transaction !== null
    ? inexact.get(transaction)
    : undefined
}

/**
 * application/json parsed by Fastify's own parser (prototype-poisoning checks included), then,
 * only for bodies where a number may not be the one written, parsed again losslessly to find the
 * transactions whose amount or timestamp would not be counted as written (see inexactFields).
 * The text of a request with an Idempotency-Key is fingerprinted here, where it is at hand.
 */
export function parseJsonExactly(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string
    if (request.headers[IDEMPOTENCY_KEY] !== undefined) noteBody(request, text)
    parse(request, text, (error, parsed) => {
      if (error === null && mayBeInexact(text)) markInexact(text, parsed)
      done(error, parsed)
    })
  })
}

function markInexact(text: string, body: unknown): void {
  const exact = parseLosslessly(text, null, (written) => {
    const value = Number(written)
    return isWrittenExactly(written, value) ? value : new InexactNumber(written)
  })
  if (Array.isArray(body) && Array.isArray(exact)) {
    for (let index = 0; index < body.length; index++) mark(body[index], exact[index])
  } else {
    mark(body, exact)
  }
}

function mark(transaction: unknown, exact: unknown): void {
  if (typeof transaction !== 'object' || transaction === null) return
  if (typeof exact !== 'object' || exact === null) return
  const errors: FieldError[] = []
  for (const field of EXACT_FIELDS) {
    const value = (exact as Record<string, unknown>)[field]
    if (value instanceof InexactNumber) errors.push({ field, message: message(value) })
  }
  if (errors.length > 0) inexact.set(transaction, errors)
}

const MAX_ECHO = 40

function message({ written }: InexactNumber): string {
  const shown = written.length > MAX_ECHO ? `${written.slice(0, MAX_ECHO)}…` : written
  const parsed = Number(written)
  return `must be counted exactly as written, and ${shown} is not: it would be ${parsed}. Send at most 15 significant digits, or the shortest form of a double`
}
