/**
 * What instances sharing a window must agree on, as text: a store with another list of
 * dimensions (or the same in another order) would write its values under another's keys, another
 * window or skew would expire the others' blocks, another quantile accuracy would put amounts in
 * other sketch buckets. The layout's version comes first.
 */
export function settingsOf(
  windowMs: number,
  skewMs: number,
  dimensions: readonly string[],
  accuracy: number | undefined,
): string {
  return [
    `layout=${LAYOUT_VERSION}`,
    `window=${windowMs}`,
    `skew=${skewMs}`,
    `dimensions=${dimensions.join(',')}`,
    `quantiles=${accuracy ?? 'off'}`,
  ].join(' ')
}

/** The version of the key layout (see scripts.ts): a new layout gets a new number. */
const LAYOUT_VERSION = 5
