import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import { assembleLua } from '../../../src/store/redis/lua-loader.js'

function folder(files: Record<string, string>): URL {
  const dir = mkdtempSync(join(tmpdir(), 'txstats-lua-test-'))
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, `${name}.lua`), text)
  return pathToFileURL(`${dir}/`)
}

describe('assembleLua', () => {
  const lua = folder({
    main: '#!lua\n--@include shared\n--@feature fast fast slow\nreturn C.N\n',
    shared: '--@include leaf\nlocal shared = 1\n',
    leaf: 'local leaf = C.NAME\n',
    fast: 'local speed = 2\n',
    slow: 'local speed = 1\n',
    loop: '--@include loop\n',
  })

  it('puts the constants after the #!lua line, and replaces includes and features by their files', () => {
    const text = assembleLua(lua, 'main', { N: 7, NAME: "it's", LIST: ['a', 1] }, { fast: false })
    expect(text).toBe(
      [
        '#!lua',
        'local C = {',
        '  N = 7,',
        "  NAME = 'it\\'s',",
        "  LIST = {'a', 1},",
        '}',
        'local leaf = C.NAME',
        'local shared = 1',
        'local speed = 1',
        'return C.N',
        '',
      ].join('\n'),
    )
    expect(assembleLua(lua, 'main', { N: 7 }, { fast: true })).toContain('local speed = 2')
  })

  it('refuses an include loop, a feature without its flag, and a constant that is not an integer', () => {
    expect(() => assembleLua(lua, 'loop', {})).toThrow(/loop → loop: an include loop/)
    expect(() => assembleLua(lua, 'main', {})).toThrow(/no flag fast/)
    expect(() => assembleLua(lua, 'main', { N: 0.5 }, { fast: true })).toThrow(/only integers/)
  })
})
