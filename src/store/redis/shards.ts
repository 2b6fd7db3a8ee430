import calculateSlot from 'cluster-key-slot'

const SLOTS = 16_384

/**
 * The key root of each shard's window: the prefix and one hash tag per shard. The tags are
 * chosen so their cluster slots sit in the middle of S equal ranges of the slot space, so that a
 * cluster whose masters own equal ranges (what `redis-cli --cluster create` makes) gets one shard
 * per master when S is their number, rather than what chance would give.
 */
export function shardRoots(prefix: string, shards: number): string[] {
  const span = SLOTS / shards
  return Array.from({ length: shards }, (_, shard) => {
    const target = (shard + 0.5) * span
    for (let attempt = 0; ; attempt++) {
      const tag = `s${shard}-${attempt}`
      if (Math.abs(calculateSlot(tag) - target) <= span / 4) return `${prefix}{${tag}}:`
    }
  })
}

/** The shard that remembers an idempotency key: the same from every instance. */
export function shardOfKey(key: string, shards: number): number {
  return calculateSlot(key) % shards
}
