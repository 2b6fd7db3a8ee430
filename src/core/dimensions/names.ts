/**
 * Dimensions: named string fields of a transaction (currency, merchant, …) whose values the
 * window can be asked about one at a time. The rules here are the one place each lives: the
 * HTTP layer validates with them, both stores keep values by them.
 */

export const MAX_DIMENSIONS = 4
/** A dimension's name: what a transaction's field and a query's parameter are called. */
export const DIMENSION_NAME = /^[a-z][a-z0-9_]{0,31}$/
/** Names a dimension cannot take: the transaction's own fields, and the query's parameters. */
export const RESERVED_NAMES: readonly string[] = [
  'amount',
  'timestamp',
  'quantiles',
  'by',
  'order',
  'limit',
  'interval',
]
export const MAX_VALUE_LENGTH = 64
/**
 * A value: 1 to MAX_VALUE_LENGTH printable characters that a reader can tell apart, for JSON
 * Schema's pattern (Unicode-aware). Letters, marks, digits, punctuation and symbols of any script
 * and the plain space; no control, format, private-use or unassigned character, none that is
 * default-ignorable (variation selectors, joiners, fillers such as U+3164, which render as
 * nothing), no blank braille pattern, no other space (NBSP, U+3000). It starts with neither a
 * space nor a mark, ends without a space, holds a visible character, and does not mix Latin,
 * Greek and Cyrillic letters (a Cyrillic Е in "ЕUR" would read as EUR). Values are compared in
 * NFC (see dimensionValueOf): the same text composed or decomposed is one value.
 */
export const VALUE_PATTERN = [
  '^',
  '(?![ \\p{M}])', // no leading space or lone mark
  '(?!.*\\p{Script=Latin}.*[\\p{Script=Greek}\\p{Script=Cyrillic}])',
  '(?!.*\\p{Script=Greek}.*[\\p{Script=Latin}\\p{Script=Cyrillic}])',
  '(?!.*\\p{Script=Cyrillic}.*[\\p{Script=Latin}\\p{Script=Greek}])',
  '(?:(?![\\p{Default_Ignorable_Code_Point}\\u2800])[\\p{L}\\p{M}\\p{N}\\p{P}\\p{S} ])+',
  '(?<! )$',
].join('')
const VALUE = new RegExp(VALUE_PATTERN, 'u')

export const MAX_MAX_VALUES = 10_000

/** The dimension names of a DIMENSIONS setting, or a RangeError saying what is wrong. */
export function parseDimensions(text: string): string[] {
  const names = text
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '')
  if (names.length > MAX_DIMENSIONS) {
    throw new RangeError(`at most ${MAX_DIMENSIONS} dimensions`)
  }
  for (const name of names) {
    if (!DIMENSION_NAME.test(name) || RESERVED_NAMES.includes(name)) {
      throw new RangeError(
        `a dimension is named [a-z][a-z0-9_]{0,31} and not ${RESERVED_NAMES.join(', ')}: ${JSON.stringify(name)}`,
      )
    }
  }
  if (new Set(names).size !== names.length) throw new RangeError('a dimension is named twice')
  return names
}

/** Whether a field's content is a value a dimension keeps (the HTTP layer refuses the others). */
export function isDimensionValue(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length > 0 &&
    // A UTF-16 length within the bound is a length in characters within it.
    (value.length <= MAX_VALUE_LENGTH || [...value].length <= MAX_VALUE_LENGTH) &&
    VALUE.test(value)
  )
}

/**
 * The text a transaction carries in a dimension's field, in NFC; undefined when it carries none. Not yet
 * checked with isDimensionValue: the stores check a value once, when they first meet it.
 */
export function dimensionValueOf(transaction: object, dimension: string): string | undefined {
  const value = (transaction as Record<string, unknown>)[dimension]
  return typeof value === 'string' ? value.normalize('NFC') : undefined
}
