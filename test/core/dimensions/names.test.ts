import { describe, expect, it } from 'vitest'
import {
  dimensionValueOf,
  isDimensionValue,
  MAX_DIMENSIONS,
  MAX_VALUE_LENGTH,
  parseDimensions,
} from '../../../src/core/dimensions/names.js'

describe('parseDimensions', () => {
  it('reads a comma-separated list, spaces and empty entries ignored', () => {
    expect(parseDimensions(' currency, merchant ,,')).toEqual(['currency', 'merchant'])
    expect(parseDimensions('')).toEqual([])
  })

  it('refuses bad names, reserved names, repeats and too many', () => {
    expect(() => parseDimensions('Currency')).toThrow(RangeError)
    expect(() => parseDimensions('amount')).toThrow(/not amount/)
    expect(() => parseDimensions('by')).toThrow(RangeError)
    expect(() => parseDimensions('a,a')).toThrow(/twice/)
    const many = Array.from({ length: MAX_DIMENSIONS + 1 }, (_, i) => `d${i}`).join(',')
    expect(() => parseDimensions(many)).toThrow(/at most/)
  })
})

describe('isDimensionValue', () => {
  it('takes printable values of any script up to the length bound', () => {
    for (const value of ['EUR', 'm-42', 'Zürich', '東京', 'a b', 'x'.repeat(MAX_VALUE_LENGTH)]) {
      expect(isDimensionValue(value), value).toBe(true)
    }
  })

  it('refuses what a reader cannot tell apart or see', () => {
    for (const value of [
      '',
      ' EUR',
      'EUR ',
      'E\u00a0UR', // NBSP
      'EUR\ufe0f', // variation selector
      '\u3164', // Hangul filler
      '\u2800', // blank braille
      '\u0415UR', // Cyrillic Е among Latin letters
      '\u0301', // a lone mark
      'x'.repeat(MAX_VALUE_LENGTH + 1),
      42,
      null,
    ]) {
      expect(isDimensionValue(value), JSON.stringify(value)).toBe(false)
    }
  })
})

describe('dimensionValueOf', () => {
  it("is a transaction's field in NFC, undefined when it carries no string", () => {
    expect(dimensionValueOf({ city: 'Zu\u0308rich' }, 'city')).toBe('Z\u00fcrich')
    expect(dimensionValueOf({ city: 7 }, 'city')).toBeUndefined()
    expect(dimensionValueOf({}, 'city')).toBeUndefined()
  })
})
