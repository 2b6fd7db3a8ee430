import { Cluster, Redis } from 'ioredis'
import type { ConnectionLog } from '../store.js'

export type RedisClient = Redis | Cluster

export interface RedisConnection {
  url: string
  /** A Redis Cluster: `url` names one of its nodes, the client finds the others. */
  cluster: boolean
  /** How long a command may take before it fails (and the request gets 503). */
  timeoutMs: number
}

/** Reconnection: quickly at first, then once a second, for ever. */
function retryDelay(attempt: number): number {
  return Math.min(attempt * 100, 1_000)
}

/**
 * A client that fails fast rather than waits: without an offline queue a command sent while
 * Redis is unreachable fails at once, and a command in flight when the connection drops fails
 * rather than being sent again, since a record that Redis ran but whose answer was lost would
 * then be counted twice. It reconnects by itself.
 */
export function connectRedis({ url, cluster, timeoutMs }: RedisConnection): RedisClient {
  const perConnection = {
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    commandTimeout: timeoutMs,
    connectTimeout: Math.max(timeoutMs, 1_000),
  }
  // Connects when told (see watchConnection), once something listens to its errors.
  // No auto-pipelining: it holds a tick's commands back to send them as one write, so Redis idles
  // while Node parses requests, then Node while Redis runs the batch. Written at once, each
  // command runs while Node parses the next request (docs/design/redis.md, "Writes and reads").
  const clientOptions = {
    enableOfflineQueue: false,
    enableAutoPipelining: false,
    lazyConnect: true,
  }
  if (!cluster) {
    return new Redis(url, { ...perConnection, ...clientOptions, retryStrategy: retryDelay })
  }
  const { hostname, port, username, password, protocol } = new URL(url)
  return new Cluster([{ host: hostname, port: Number(port || 6379) }], {
    ...clientOptions,
    clusterRetryStrategy: retryDelay,
    // A command whose connection closed may have run: the cluster client must not send it again
    // after a failover (its default), or a record would count twice. The store answers 503 at
    // once and marks the shard down until a probe finds the slot's new master.
    retryDelayOnFailover: 0,
    retryDelayOnClusterDown: 0,
    retryDelayOnTryAgain: 0,
    redisOptions: {
      ...perConnection,
      ...(username ? { username: decodeURIComponent(username) } : {}),
      ...(password ? { password: decodeURIComponent(password) } : {}),
      ...(protocol === 'rediss:' ? { tls: {} } : {}),
    },
  })
}

/**
 * Connects, noting at info when the connection is lost (once, not at every retry) and when it is
 * back; the outage itself is the store's to report, per shard (see ShardHealth). Settles after the
 * first attempt, whichever way it went: a start with Redis down is not an error, the service
 * starts not ready and serves when it can.
 */
export async function watchConnection(client: RedisClient, log: ConnectionLog): Promise<void> {
  let up: boolean | undefined
  client.on('ready', () => {
    if (up !== true) log.info({}, 'redis connected')
    up = true
  })
  client.on('error', (error: Error) => {
    if (up !== false) log.info({ err: error }, 'redis connection lost: reconnecting')
    up = false
  })
  await client.connect().catch(() => {
    // Reported by the error event; ioredis keeps retrying.
  })
}
