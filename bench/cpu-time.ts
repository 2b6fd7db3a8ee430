/**
 * CPU time as Linux counts it in /proc, for the benchmarks: a process's (and its children's), this
 * script's, and the whole machine's with the hypervisor's steal. NaN where /proc is missing.
 */
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim()) || 100

/** User + system seconds of a process and of its children (e.g. the workers of WORKERS=2). */
export function processCpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')
    const own = (Number(fields?.[11]) + Number(fields?.[12])) / CLOCK_TICKS
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim()
    const theirs = children === '' ? [] : children.split(' ').map(Number)
    return theirs.reduce((sum, child) => sum + processCpuSeconds(child), own)
  } catch {
    return Number.NaN
  }
}

/** The machine's CPU time from /proc/stat, in seconds: what processes used, and steal. */
export function machineSeconds(): { busy: number; steal: number } {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]?.trim().split(/\s+/).slice(1)
    const [user = 0, nice = 0, system = 0, , , , , steal = 0] = (fields ?? []).map(Number)
    // Interrupt time is left out: on loopback it is the load's own network traffic.
    return { busy: (user + nice + system) / CLOCK_TICKS, steal: steal / CLOCK_TICKS }
  } catch {
    return { busy: Number.NaN, steal: Number.NaN }
  }
}

/** CPU time of this script and of the children it waited for (each wrk run). */
export function ownCpuSeconds(): number {
  try {
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]?.split(' ')
    const [utime, stime, cutime, cstime] = [11, 12, 13, 14].map((i) => Number(fields?.[i]))
    return ((utime ?? 0) + (stime ?? 0) + (cutime ?? 0) + (cstime ?? 0)) / CLOCK_TICKS
  } catch {
    return Number.NaN
  }
}
