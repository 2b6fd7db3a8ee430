/**
 * The defaults of the window, its features and the stores, each defined here once. config.ts
 * offers them as the settings' defaults; the core and the stores fall back on them when built
 * without a setting (as tests and benchmarks build them).
 */

/** Bytes in a mebibyte: the settings give budgets in MiB. */
export const MIB = 1024 * 1024

/** The window's length: the transactions of the last minute. */
export const DEFAULT_WINDOW_MS = 60_000
/** How far in the future a timestamp may lie and still be stored: clients' clocks differ. */
export const DEFAULT_CLOCK_SKEW_MS = 2_000

/** The relative accuracy α of every quantile. */
export const DEFAULT_QUANTILE_ACCURACY = 0.01
/** The most the quantile sketches may be charged. */
export const DEFAULT_QUANTILE_BUDGET_BYTES = 384 * MIB

/** The values of one dimension tracked apart; the others are counted in its overflow. */
export const DEFAULT_MAX_VALUES = 1_000
/** The most the memory store's values of all dimensions may be charged. */
export const DEFAULT_DIMENSION_BUDGET_BYTES = 256 * MIB

/** The most the remembered idempotency keys may be charged, all clients together. */
export const DEFAULT_IDEMPOTENCY_BUDGET_BYTES = 256 * MIB
/** The share of that budget one client (an API key, else an address) may hold, in percent. */
export const DEFAULT_IDEMPOTENCY_CLIENT_SHARE_PERCENT = 25
