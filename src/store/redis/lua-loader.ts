import { readFileSync } from 'node:fs'

/**
 * Assembles a script from the `.lua` files of a folder. A line `--@include <name>` is replaced by
 * `<name>.lua`, itself assembled; `--@feature <flag> <on> <off>` by `<on>.lua` when the flag is
 * set, else `<off>.lua`. The files name the constants `C.<NAME>`, and their values come from the
 * TypeScript that defines them: an integer or a string is written in place, as a literal (a script
 * runs its whole text at every call, and a table of constants would be built at every call); a
 * table goes in one Lua table C, first, after a `#!lua` line if the script has one. A name that
 * is not a constant is refused.
 */
export function assembleLua(
  folder: URL,
  name: string,
  constants: Readonly<Record<string, LuaValue>>,
  flags: Readonly<Record<string, boolean>> = {},
): string {
  const text = expand(folder, name, flags, []).replace(/^(.*?)(--.*)?$/gm, (_, code, comment) => {
    const replaced = (code as string).replace(/\bC\.([A-Z][A-Z0-9_]*)\b/g, (__, key: string) => {
      const value = constants[key]
      if (value === undefined) throw new Error(`${name}.lua: no constant C.${key}`)
      return typeof value === 'object' ? `C.${key}` : luaLiteral(value)
    })
    return replaced + ((comment as string | undefined) ?? '')
  })
  const entries = Object.entries(constants)
    .filter(([, value]) => typeof value === 'object')
    .map(([key, value]) => `  ${key} = ${luaLiteral(value)},`)
  const table = entries.length > 0 ? `local C = {\n${entries.join('\n')}\n}\n` : ''
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
