-- KEYS: meta. ARGV: root, at, windowMs, floor ('' for none), queryWindowMs (the last queryWindowMs
-- ms of the window, at most windowMs), then for quantiles the clock skew.
-- Returns the instant, then the count, the five limb sums, the min's text and the max's text
-- ('' when empty) of those queryWindowMs ms; with quantiles then the edge (see cutEdges), the min
-- and max texts of the interval the sketches were read over, and the sketches (readSketches).
--
--@include prelude
--@include aggregate
--@include sketches
local now, window = advance()
local from = now - tonumber(ARGV[5]) + 1
local partitions = partitionsOf(window, now)
local result = aggregateAll(partitions, from, now)
table.insert(result, 1, now)
if ARGV[6] == nil then return result end
local lo, hi, edge = cutEdges(keptOf(partitions), from, now)
local wide = result
if edge > 1 then
  wide = aggregateAll(partitions, lo, hi)
  table.insert(wide, 1, now)
end
result[#result + 1] = edge
result[#result + 1] = wide[MIN + 1]
result[#result + 1] = wide[MAX + 1]
result[#result + 1] = readSketches(partitions, lo, hi, math.floor((now + tonumber(ARGV[6])) / COARSEST))
return result
