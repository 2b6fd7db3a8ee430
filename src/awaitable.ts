/**
 * A value now, or later. Stores that answer over the network return promises; the memory store
 * returns plain values, so its answers cost no promise and no microtask on the hot path.
 */
export type Awaitable<T> = T | Promise<T>

/** Applies `next` to the value, at once when it is plain, when it settles when it is a promise. */
export function settle<T, R>(value: Awaitable<T>, next: (value: T) => R): Awaitable<R> {
  return value instanceof Promise ? value.then(next) : next(value)
}
