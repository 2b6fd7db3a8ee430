/**
 * Block sizes in milliseconds, finest first. A transaction is added to one block of every level;
 * a snapshot covers its interval with the coarsest aligned blocks that fit, so at most 9 blocks
 * of each finer level are read at either edge (see design.md for the bound). The Redis scripts
 * (src/store/redis/scripts.ts) take these levels from here.
 */
export const LEVELS: readonly number[] = [1, 10, 100, 1000]

/** The coarsest level whose block starting at `from` is aligned and ends by `to`. */
export function coarsestLevel(from: number, to: number): number {
  for (let level = LEVELS.length - 1; level > 0; level--) {
    const size = LEVELS[level] as number
    if (from % size === 0 && from + size - 1 <= to) return level
  }
  return 0
}

/**
 * Slots per level of a ring holding every live block of a window of windowMs and a skew of
 * clockSkewMs: live blocks span [now - windowMs + 1, now + clockSkewMs]. A power of two makes
 * the slot of a block cheap to find: dividing by it is exact, no fmod needed.
 */
export function ringSlots(windowMs: number, clockSkewMs: number): number[] {
  return LEVELS.map(
    (size) => 2 ** Math.ceil(Math.log2(Math.ceil((windowMs + clockSkewMs) / size) + 1)),
  )
}
