-- Dimensions (twin of ValueWindows, src/core/value-windows.ts): each value of a dimension has the
-- window's layout under its own prefix, as have the dimension's overflow and its missing values.
-- The tracked values are a sorted set by newest timestamp, so that those whose transactions have
-- all left are found, and released, without a scan.
--
local function valuePrefix(window, d, value) return window .. 'v' .. d .. ':' .. value .. ':' end
local function overflowPrefix(window, d) return window .. 'o' .. d .. ':' end
local function missingPrefix(window, d) return window .. 'm' .. d .. ':' end
local function trackedKey(window, d) return window .. 'd' .. d end
local function partialKey(window, d) return window .. 'p' .. d end
local function wholeKey(window, d) return window .. 'w' .. d end
-- Per second, each tracked value's block of it with the first and last millisecond it holds
-- there (C.ROLLUP_FORMAT), by value: a breakdown reads one second of all the values of a step
-- with one HMGET.
local function rollupKey(window, d, second) return window .. 'u' .. d .. ':' .. int(second) end
-- Values that lost their place to a heavier one (see trackValues), by newest timestamp: read as
-- part of the rest until their transactions have left.
local function retiredKey(window, d) return window .. 'r' .. d end
-- The tracked values by their latest counted generation and count (a sorted set, so the lightest
-- is its first member), the generation the counts of values kept out are of, and those counts.
local function hitsKey(window, d) return window .. 'h' .. d end
local function generationKey(window, d) return window .. 'g' .. d end
local function candidatesKey(window, d) return window .. 'c' .. d end
