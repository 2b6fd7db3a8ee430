import {
  type FastifyBaseLogger,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
  LogController,
} from 'fastify'

const LOGS_INFO = new Set(['info', 'debug', 'trace'])

/** Query parameters that clients use to pass keys: their values never reach a log line. */
const SECRET_PARAMETER = /([?&](?:access_token|api_key|apikey|key|token)=)[^&#]*/gi

/** The URL with the values of key-like query parameters replaced. */
export function withoutSecrets(url: string): string {
  return url.includes('?') ? url.replace(SECRET_PARAMETER, '$1[redacted]') : url
}

/**
 * One log line per request, written when it is answered, with what an operator reads first.
 * Fastify's default writes two (incoming and completed), each with the whole request object.
 */
export class OneLinePerRequest extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    // Checked first: building the line would cost every request even when info is off.
    if (!error && !LOGS_INFO.has(reply.log.level)) return
    // The request's logger adds its reqId.
    const line = {
      method: request.method,
      url: withoutSecrets(request.url),
      statusCode: reply.statusCode,
      responseTime: Math.round(reply.elapsedTime * 100) / 100,
    }
    // Refusals name the client: whom to block is the first question about a flood of them.
    const logged = reply.statusCode >= 400 ? { ...line, ip: request.ip } : line
    if (error) reply.log.error({ ...logged, err: error }, 'request errored')
    else reply.log.info(logged, 'request')
  }
}

type Bindings = Record<string, unknown>
/** pino's logger; a logger without isLevelEnabled (Fastify's null logger) is asked anyway. */
type ParentLogger = FastifyBaseLogger & { isLevelEnabled?(level: string): boolean }
type LogArguments = [object | string, ...unknown[]]

/**
 * A request's logger: Fastify's child logger (every line carries the request's reqId, plugins'
 * lines too), made only when the request first writes a line at an enabled level. Making a pino
 * child for every request costs a measurable share of POST throughput, paid for lines that are
 * rare at the default levels; this costs one small object.
 */
class RequestLogger {
  readonly #parent: ParentLogger
  readonly #bindings: Bindings
  readonly #options: object
  #child: FastifyBaseLogger | undefined

  constructor(parent: ParentLogger, bindings: Bindings, options: object) {
    this.#parent = parent
    this.#bindings = bindings
    this.#options = options
  }

  get level(): string {
    return (this.#child ?? this.#parent).level
  }

  set level(level: string) {
    this.#resolve().level = level
  }

  fatal(...args: LogArguments): void {
    this.#write('fatal', args)
  }
  error(...args: LogArguments): void {
    this.#write('error', args)
  }
  warn(...args: LogArguments): void {
    this.#write('warn', args)
  }
  info(...args: LogArguments): void {
    this.#write('info', args)
  }
  debug(...args: LogArguments): void {
    this.#write('debug', args)
  }
  trace(...args: LogArguments): void {
    this.#write('trace', args)
  }
  silent(): void {}

  child(bindings: Bindings, options?: object): FastifyBaseLogger {
    return this.#resolve().child(bindings, options)
  }

  #write(level: Level, args: LogArguments): void {
    if (this.#parent.isLevelEnabled?.(level) === false) return
    const log = this.#resolve()[level] as (...line: LogArguments) => void
    log.apply(this.#resolve(), args)
  }

  #resolve(): FastifyBaseLogger {
    this.#child ??= this.#parent.child(this.#bindings, this.#options)
    return this.#child
  }
}

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'

/** Fastify's childLoggerFactory: a RequestLogger per request (see above). */
export const lazyRequestLogger: NonNullable<FastifyServerOptions['childLoggerFactory']> = (
  logger,
  bindings,
  options,
) => new RequestLogger(logger, bindings, options) as unknown as FastifyBaseLogger
