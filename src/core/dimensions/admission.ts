/**
 * Which values hold a dimension's places when more values send than it tracks: those that carry
 * the transactions. A value not tracked is counted while it overflows (Misra–Gries, Candidates).
 * When its count reaches ADMISSION_EVIDENCE, and again each time it doubles (isAdmissionTry), it
 * takes the place of the lightest tracked value if that one sent fewer transactions in the same
 * generation (a window's length of time). The lightest is the least by isLighter: the value last
 * counted in the oldest generation (one that sent nothing since is lighter than any that did),
 * then the fewest counted in it, then the first by byValueOrder; a value that takes a place,
 * again or for the first time, starts counted at 0 in the current generation. (On Redis this
 * order is a sorted set's, its score the generation times MAX_COUNTED + 1 plus the count, so no
 * count is ever reset.) The value that lost its place is retired: what it holds
 * stays readable, counted in the rest of a breakdown, until its transactions have left; its
 * later ones go to the overflow. At most retiredCapacity(maxValues) values are retired at once,
 * so places change hands at most that many times a window, whatever is sent.
 *
 * The counts decide only who is tracked, never a reported number: a value's answer is exact, or
 * says it is incomplete while some of its transactions may be in the overflow.
 */

/** A value takes a place only after this many of its transactions overflowed this generation. */
export const ADMISSION_EVIDENCE = 2

/**
 * Whether a count going from `before` to `after` tries for a place: it reaches
 * ADMISSION_EVIDENCE or a power of two above it. So a value tries at most log2 times a
 * generation, each try O(tracked values).
 */
export function isAdmissionTry(before: number, after: number): boolean {
  if (after < ADMISSION_EVIDENCE) return false
  if (before < ADMISSION_EVIDENCE) return true
  return Math.floor(Math.log2(before)) < Math.floor(Math.log2(after))
}

/** Counts of a tracked value's transactions stop here (the sorted set's scores stay exact). */
export const MAX_COUNTED = 2 ** 21 - 1

/**
 * Whether a tracked value (its latest counted generation, its count in it, its name) is lighter
 * than another: the order in which values lose their place.
 */
export function isLighter(
  generation: number,
  count: number,
  name: string,
  otherGeneration: number,
  otherCount: number,
  otherName: string,
): boolean {
  if (generation !== otherGeneration) return generation < otherGeneration
  if (count !== otherCount) return count < otherCount
  return byValueOrder(name, otherName) < 0
}

/** Values that may be retired at once: this share of the places (1 / RETIRED_SHARE), at least one. */
export const RETIRED_SHARE = 4

export function retiredCapacity(maxValues: number): number {
  return Math.max(1, Math.ceil(maxValues / RETIRED_SHARE))
}

/** The generation of an instant: counts start afresh every window's length. */
export function generationOf(now: number, windowMs: number): number {
  return Math.floor(now / windowMs)
}

/**
 * Misra–Gries counts of values not tracked, at most `capacity` of them: a value that sent more
 * than a 1/(capacity + 1) share of the transactions counted is kept, with a count at most that
 * share below its own. A call costs O(1), or O(capacity) when a new value finds no room, which
 * happens at most once per `capacity` transactions counted.
 */
export class Candidates {
  readonly #counts = new Map<string, number>()

  constructor(readonly capacity: number) {}

  /** Counts `n` transactions of `value`; its count now (0: not kept). */
  add(value: string, n: number): number {
    const counts = this.#counts
    const count = counts.get(value)
    if (count !== undefined) {
      counts.set(value, count + n)
      return count + n
    }
    if (counts.size >= this.capacity) {
      let least = n
      for (const c of counts.values()) if (c < least) least = c
      for (const [other, c] of counts) {
        if (c === least) counts.delete(other)
        else counts.set(other, c - least)
      }
      n -= least
      if (n === 0) return 0
    }
    counts.set(value, n)
    return n
  }

  /** Forgets a value's count (it was tracked). */
  delete(value: string): void {
    this.#counts.delete(value)
  }

  clear(): void {
    this.#counts.clear()
  }
}

/**
 * Names in the order of their UTF-8 bytes, which is code point order: the order Redis gives
 * members of a sorted set with equal scores. (JavaScript's < compares UTF-16 units, which puts
 * U+E000–U+FFFF after the code points above U+FFFF.)
 */
export function byValueOrder(a: string, b: string): number {
  const length = Math.min(a.length, b.length)
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x === y) continue
    const xSurrogate = x >= 0xd800 && x <= 0xdfff
    const ySurrogate = y >= 0xd800 && y <= 0xdfff
    // A surrogate starts a code point above U+FFFF: after any other unit.
    if (xSurrogate !== ySurrogate) return xSurrogate ? 1 : -1
    return x - y
  }
  return a.length - b.length
}
