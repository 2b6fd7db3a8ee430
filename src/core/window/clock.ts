/** Epoch milliseconds. Injected so tests can drive the window to the millisecond. */
export type Clock = () => number

export const systemClock: Clock = Date.now
