-- Dimensions (twin of ValueWindows, src/core/value-windows.ts): each value of a dimension has the
-- window's layout under its own prefix, as have the dimension's overflow and its missing values.
-- The tracked values are a sorted set by newest timestamp, so that those whose transactions have
-- all left are found, and released, without a scan.
--
-- A dimension's number as text, formatted once: a key is named many times a call.
local D = setmetatable({}, {__index = function(texts, d)
  texts[d] = int(d)
  return texts[d]
end})
local function valuePrefix(window, d, value) return window .. 'v' .. D[d] .. ':' .. value .. ':' end
-- A value's spilled second (see C.ROLLUP_FORMAT): one hash of its blocks of the finer levels,
-- each a field named by its level's letter and its place in the second (the second's own block
-- is its rollup's head), as the memory store's fine second holds them.
local function fineKey(window, d, value, second) return valuePrefix(window, d, value) .. 'f:' .. int(second) end
local FINE = {'m', 't', 'h'}
local function fineField(level, block) return FINE[level] .. int(block % (COARSEST / SIZES[level])) end
local function overflowPrefix(window, d) return window .. 'o' .. D[d] .. ':' end
local function missingPrefix(window, d) return window .. 'm' .. D[d] .. ':' end
local function trackedKey(window, d) return window .. 'd' .. D[d] end
local function partialKey(window, d) return window .. 'p' .. D[d] end
local function wholeKey(window, d) return window .. 'w' .. D[d] end
-- Per second, each tracked value's rollup's head: its block of it, the first and last millisecond
-- it holds there and its number of entries (C.ROLLUP_FORMAT), by value: a breakdown reads one
-- second of all the values of a step with one HMGET.
local function rollupKey(window, d, second) return window .. 'u' .. D[d] .. ':' .. int(second) end
-- Per second, the deltas of each tracked value that holds them there (see C.ROLLUP_FORMAT): the
-- entries of a value, packed one after another (C.ROLLUP_ENTRY_FORMAT), read where an edge cuts.
local function entriesKey(window, d, second) return window .. 'e' .. D[d] .. ':' .. int(second) end
-- Values that lost their place to a heavier one (see trackValues), by newest timestamp: read as
-- part of the rest until their transactions have left.
local function retiredKey(window, d) return window .. 'r' .. D[d] end
-- The tracked values by their latest counted generation and count (a sorted set, so the lightest
-- is its first member), the generation the counts of values kept out are of, and those counts.
local function hitsKey(window, d) return window .. 'h' .. D[d] end
local function generationKey(window, d) return window .. 'g' .. D[d] end
local function candidatesKey(window, d) return window .. 'c' .. D[d] end
