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

/**
 * A shard's meta key: its window's instant and generation, its settings; every script gets it as
 * KEYS[1], so each call goes to the node of its shard's slot. The keys under it are named in Lua
 * (prelude.lua, dimension-keys.lua).
 */
export function metaKey(root: string): string {
  return `${root}meta`
}

/** The shard that remembers an idempotency key: the same from every instance. */
export function shardOfKey(key: string, shards: number): number {
  return calculateSlot(key) % shards
}
