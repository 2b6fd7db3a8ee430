/**
 * Lints the Redis scripts as Redis runs them: each command's script assembled (every record
 * variant included) into a temporary folder and checked by luacheck (Debian's lua-check) with
 * .luacheckrc. Part of `npm run lint`.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  BREAKDOWN,
  CLEAR,
  recordScript,
  SERIES,
  SNAPSHOT,
  VALUE,
} from '../src/store/redis/scripts.js'

const scripts: Record<string, string> = { SNAPSHOT, SERIES, VALUE, BREAKDOWN, CLEAR }
for (const dimensions of [false, true]) {
  scripts[`RECORD${dimensions ? '+dimensions' : ''}`] = recordScript({ dimensions })
}
const folder = mkdtempSync(join(tmpdir(), 'txstats-lua-'))
try {
  const files = Object.entries(scripts).map(([name, text]) => {
    const file = join(folder, `${name}.lua`)
    writeFileSync(file, text)
    return file
  })
  const run = spawnSync('luacheck', ['--no-color', '--config', '.luacheckrc', ...files], {
    stdio: 'inherit',
  })
  if (run.error) {
    console.error('luacheck is not installed: apt-get install lua-check (see CONTRIBUTING.md)')
    process.exit(1)
  }
  process.exitCode = run.status ?? 1
} finally {
  rmSync(folder, { recursive: true, force: true })
}
