import { readFileSync } from 'node:fs'

/**
 * Assembles a script from the `.lua` files of a folder. A line `--@include <name>` is replaced by
 * `<name>.lua`, itself assembled; `--@feature <flag> <on> <off>` by `<on>.lua` when the flag is
 * set, else `<off>.lua`. The constants come first, after a `#!lua` line if the script has one, as
 * one Lua table C: the files name them `C.<NAME>`, and their values come from the TypeScript that
 * defines them.
 */
export function assembleLua(
  folder: URL,
  name: string,
  constants: Readonly<Record<string, LuaValue>>,
  flags: Readonly<Record<string, boolean>> = {},
): string {
  const text = expand(folder, name, flags, [])
  const entries = Object.entries(constants).map(
    ([key, value]) => `  ${key} = ${luaLiteral(value)},`,
  )
  const table = `local C = {\n${entries.join('\n')}\n}\n`
  return text.startsWith(SHEBANG) ? `${SHEBANG}${table}${text.slice(SHEBANG.length)}` : table + text
}

export type LuaValue = number | string | readonly (number | string)[] | { [index: number]: string }

const SHEBANG = '#!lua\n'

function expand(
  folder: URL,
  name: string,
  flags: Readonly<Record<string, boolean>>,
  seen: string[],
) {
  if (seen.includes(name)) throw new Error(`${[...seen, name].join(' → ')}: an include loop`)
  const text = readFileSync(new URL(`${name}.lua`, folder), 'utf8')
  return text.replace(
    /^--@(include|feature) (.+)$/gm,
    (_, directive: string, args: string): string => {
      const [first = '', on = '', off = ''] = args.trim().split(/\s+/)
      let part = first
      if (directive === 'feature') {
        if (!(first in flags)) throw new Error(`${name}.lua: no flag ${first} given`)
        part = flags[first] ? on : off
      }
      return expand(folder, part, flags, [...seen, name]).replace(/\n$/, '')
    },
  )
}

/** A Lua literal: an integer, a string, or a table of them. */
function luaLiteral(value: LuaValue): string {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new Error(`${value}: only integers reach the scripts`)
    return String(value)
  }
  if (typeof value === 'string') return `'${value.replace(/[\\']/g, '\\$&')}'`
  if (Array.isArray(value)) return `{${value.map((item) => luaLiteral(item)).join(', ')}}`
  const entries = Object.entries(value).map(([key, item]) =>
    /^\d+$/.test(key) ? `[${key}] = ${luaLiteral(item)}` : `${key} = ${luaLiteral(item)}`,
  )
  return `{${entries.join(', ')}}`
}
