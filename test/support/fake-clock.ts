import type { Clock } from '../../src/core/window/clock.js'

/** A clock that moves only when told to. */
export class FakeClock {
  constructor(public current = 1_700_000_000_000) {}

  readonly read: Clock = () => this.current

  advance(ms: number): void {
    this.current += ms
  }

  set(ms: number): void {
    this.current = ms
  }
}
