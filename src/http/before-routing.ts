import {
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
  STATUS_CODES,
} from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyInstance } from 'fastify'
import type { Connections } from './drain.js'
import { PROBLEM_CONTENT_TYPE, problem } from './problem.js'
import { NO_SNIFF } from './security-headers.js'

/**
 * Answers to requests that never reach a route: what Node's HTTP parser refuses, timeouts, a
 * missing Host, an Expect the service does not meet. Each is problem+json, like every other error,
 * wherever the socket can still carry an answer.
 */

const DETAILS: Readonly<Record<number, string>> = {
  400: 'The request is not well-formed HTTP.',
  408: 'The request was not received in time.',
  417: 'The Expect header names an expectation this service does not meet.',
  503: 'The service is shutting down: nothing was done. Try again (another instance may serve).',
  431: 'The request headers are too large.',
}

/** The headers and body of a problem answer. */
function problemAnswer(status: number, detail = DETAILS[status] ?? 'The request was refused.') {
  const body = JSON.stringify(problem(status, detail))
  const headers = {
    'content-type': PROBLEM_CONTENT_TYPE,
    'content-length': Buffer.byteLength(body),
    [NO_SNIFF]: 'nosniff',
    connection: 'close',
  }
  return { body, headers }
}

interface ClientError extends Error {
  code?: string
  /** What the parser had received (a Buffer, whatever the declared type says). */
  rawPacket?: unknown
}

/**
 * Fastify's clientErrorHandler: the parser's errors and the timeouts as problem+json on the raw
 * socket, then the socket is closed. Logged at debug with the error's code and the size of what
 * was received, never its bytes: they may hold an Authorization header.
 */
export function answerClientError(this: unknown, error: ClientError, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  const status =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? 408
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? 431
        : 400
  const { log } = this as FastifyInstance
  log.debug(
    {
      code: error.code,
      bytes: Buffer.isBuffer(error.rawPacket) ? error.rawPacket.length : undefined,
    },
    'client error',
  )
  if (socket.writable) {
    const { body, headers } = problemAnswer(status)
    const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`)
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${lines.join('')}\r\n${body}`)
  }
  socket.destroy()
}

/** A problem answer on Node's own response, for requests Fastify never sees. */
function answerRaw(
  response: ServerResponse,
  status: number,
  detail?: string,
  extra: Record<string, string> = {},
): void {
  const { body, headers } = problemAnswer(status, detail)
  response.writeHead(status, { ...headers, ...extra })
  response.end(body)
}

/** What a client is told to wait before retrying a request refused during shutdown, in seconds. */
const SHUTDOWN_RETRY_AFTER_S = 1

/**
 * Puts a check in front of Fastify's handler on its HTTP server: an HTTP/1.1 request without Host
 * is refused with problem+json (the server is made with requireHostHeader off, where Node would
 * answer an empty 400), and so is an Expect the service does not meet (Node: an empty 417). While
 * `closing()`, a request that arrives on a connection still open is answered 503 with Retry-After
 * and the connection closed (where Fastify would answer its own JSON); the requests already in
 * flight finish (see Connections).
 */
export function refuseBeforeRouting(
  server: Server,
  closing: () => boolean,
  connections: Connections,
): void {
  const [handler, ...others] = server.listeners('request') as RequestListener[]
  if (handler === undefined || others.length > 0) {
    throw new Error('expected the one request listener Fastify adds')
  }
  server.removeAllListeners('request')
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    if (closing()) {
      answerRaw(response, 503, undefined, { 'retry-after': String(SHUTDOWN_RETRY_AFTER_S) })
      return
    }
    if (request.headers.host === undefined && request.httpVersion === '1.1') {
      answerRaw(response, 400, 'HTTP/1.1 requests must carry a Host header.')
      return
    }
    connections.answering(request, response)
    handler(request, response)
  })
  server.on('checkExpectation', (_request, response: ServerResponse) => answerRaw(response, 417))
}
