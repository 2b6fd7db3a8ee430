#!lua
-- KEYS: meta. ARGV as SNAPSHOT. Returns the instant, then per second of the window, oldest first,
-- the second and the same eight values for its part of the window.
--
--@include prelude
--@include aggregate
local now, window = advance()
local first = now - tonumber(ARGV[5]) + 1
local partitions = partitionsOf(window, now)
local result = {now}
for second = math.floor(first / COARSEST), math.floor(now / COARSEST) do
  local point = aggregateAll(partitions, math.max(first, second * COARSEST), math.min(now, second * COARSEST + COARSEST - 1))
  result[#result + 1] = second
  for _, value in ipairs(point) do result[#result + 1] = value end
end
return result
