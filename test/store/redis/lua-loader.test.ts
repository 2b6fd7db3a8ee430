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
    main: '#!lua\n--@include shared\n--@feature fast fast slow\nreturn C.N -- C.N\n',
    shared: '--@include leaf\nlocal shared = C.LIST\n',
    leaf: 'local leaf = C.NAME\n',
    fast: 'local speed = 2\n',
    slow: 'local speed = 1\n',
    loop: '--@include loop\n',
  })

  it('writes integers and strings in place, tables in C after the #!lua line, and replaces includes and features by their files', () => {
    const constants = { N: 7, NAME: "it's", LIST: ['a', 1] }
    const text = assembleLua(lua, 'main', constants, { fast: false })
    expect(text).toBe(
      [
        '#!lua',
        'local C = {',
        "  LIST = {'a', 1},",
        '}',
        "local leaf = 'it\\'s'",
        'local shared = C.LIST',
        'local speed = 1',
        'return 7 -- C.N',
        '',
      ].join('\n'),
    )
    expect(assembleLua(lua, 'main', constants, { fast: true })).toContain('local speed = 2')
  })

  it('refuses an include loop, a feature without its flag, an unknown constant, and one that is not an integer', () => {
    const constants = { N: 7, NAME: 'x', LIST: [] }
    expect(() => assembleLua(lua, 'loop', {})).toThrow(/loop → loop: an include loop/)
    expect(() => assembleLua(lua, 'main', constants)).toThrow(/no flag fast/)
    expect(() => assembleLua(lua, 'main', { ...constants, N: 0.5 }, { fast: true })).toThrow(
      /only integers/,
    )
    expect(() => assembleLua(lua, 'main', { N: 7, LIST: [] }, { fast: true })).toThrow(
      /no constant C.NAME/,
    )
  })
})
