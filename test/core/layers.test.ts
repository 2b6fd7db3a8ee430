import { readdirSync, readFileSync } from 'node:fs'
import { join, relative, sep } from 'node:path'
import { describe, expect, it } from 'vitest'

/**
 * The core's parts in order: a part may import the ones before it, never one after it, and
 * nothing of the core imports I/O (node:*, Fastify, Redis). defaults.ts sits below them all.
 */
const PARTS = ['amount', 'blocks', 'window', 'quantiles', 'dimensions', 'idempotency']
const CORE = join(import.meta.dirname, '../../src/core')

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(join(dir, entry.name)) : [join(dir, entry.name)],
  )
}

const files = sources(CORE).filter((file) => file.endsWith('.ts'))
const imports = (file: string) =>
  [...readFileSync(file, 'utf8').matchAll(/from '([^']+)'/g)].map((match) => match[1] as string)
const partOf = (file: string) => relative(CORE, file).split(sep)[0] as string

describe('the core', () => {
  it('is split into its parts, each a folder', () => {
    const parts = new Set(files.map(partOf))
    expect([...parts].sort()).toEqual([...PARTS, 'defaults.ts'].sort())
  })

  it('imports only downward between its parts, and no I/O', () => {
    const upward: string[] = []
    for (const file of files) {
      const from = PARTS.indexOf(partOf(file))
      for (const spec of imports(file)) {
        if (!spec.startsWith('.')) {
          if (/^(node:|fastify|ioredis|@fastify)/.test(spec)) upward.push(`${file}: ${spec}`)
          continue
        }
        const to = PARTS.indexOf(partOf(join(file, '..', spec)))
        // dimensions and idempotency are peers at the top: neither imports the other.
        const peers = from >= 4 && to >= 4 && from !== to
        if (to > from || peers) upward.push(`${relative(CORE, file)} → ${spec}`)
      }
    }
    expect(upward).toEqual([])
  })
})
