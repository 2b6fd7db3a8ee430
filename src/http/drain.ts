import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'

/** The response a connection is answering now, kept on its socket (see Connections.answering). */
const ANSWERING = Symbol('answering')

type TrackedSocket = Socket & { [ANSWERING]?: ServerResponse }

/**
 * The server's open connections, so that shutting down closes each between two requests, never
 * under one: a keep-alive client whose connection is cut after it sent a POST cannot know whether
 * the POST was done. Tracked per connection, plus one property write per request.
 */
export class Connections {
  readonly #sockets = new Set<TrackedSocket>()
  #drained: (() => void) | undefined

  constructor(server: Server) {
    server.on('connection', (socket: TrackedSocket) => {
      this.#sockets.add(socket)
      socket.once('close', () => {
        this.#sockets.delete(socket)
        if (this.#sockets.size === 0) this.#drained?.()
      })
    })
  }

  /** Called for every request as it arrives. */
  answering(request: IncomingMessage, response: ServerResponse): void {
    ;(request.socket as TrackedSocket)[ANSWERING] = response
  }

  /**
   * Every answer not yet sent carries `Connection: close`, and the connection closes after it;
   * a request that arrives meanwhile on an idle connection is answered (503 during shutdown) and
   * its connection closed likewise. Settles once every connection has closed, or after `ms`,
   * when the server closes those still idle.
   */
  drain(ms: number): Promise<void> {
    for (const socket of this.#sockets) {
      const response = socket[ANSWERING]
      if (response && !response.headersSent) response.shouldKeepAlive = false
    }
    if (this.#sockets.size === 0) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms)
      this.#drained = () => {
        clearTimeout(timer)
        resolve()
      }
    })
  }
}
