#!lua
-- KEYS: meta. ARGV: root, at, windowMs, floor ('' for none), queryWindowMs (the last queryWindowMs ms of the
-- window, at most windowMs), then only for quantiles the clock skew and the TTL floor.
-- Returns the instant, then the count, the five limb sums, the min's text and the max's text
-- ('' when empty) of those queryWindowMs ms; with quantiles then the edge (see mergeSketches), the min and
-- max texts of the interval the sketches were read over, and their (index, count) pairs.
--
--@include prelude
--@include aggregate
local MARGIN = 1000
--@include sketches
local now, window, clock = advance()
local from = now - tonumber(ARGV[5]) + 1
local partitions = partitionsOf(window, now)
local result = aggregateAll(partitions, from, now)
table.insert(result, 1, now)
if ARGV[6] == nil then return result end
local sketches = openSketches(window, now, tonumber(ARGV[6]), clock, tonumber(ARGV[7]))
local lo, hi, edge, flat = mergeSketches(sketches, from, now)
saveSketches(sketches)
local wide = result
if edge > 1 then
  wide = aggregateAll(partitions, lo, hi)
  table.insert(wide, 1, now)
end
result[#result + 1] = edge
result[#result + 1] = wide[MIN + 1]
result[#result + 1] = wide[MAX + 1]
for _, value in ipairs(flat) do result[#result + 1] = value end
return result
