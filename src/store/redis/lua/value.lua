#!lua
-- KEYS: meta. ARGV: root, at, windowMs, floor, queryWindowMs, dimension (1-based), value. Returns the
-- instant, the value's aggregate over the last queryWindowMs ms as SNAPSHOT's (zeros when it is not
-- tracked), and 1 when some of its transactions there may be in the overflow, else 0.
--
--@include prelude
--@include aggregate
--@include dimension-keys
--@include rollups
local now, window = advance()
local from = now - tonumber(ARGV[5]) + 1
local dim, value = ARGV[6], ARGV[7]
local newest = tonumber(redis.call('ZSCORE', trackedKey(window, dim), value))
local retired = tonumber(redis.call('ZSCORE', retiredKey(window, dim), value))
local result, partial
if newest and newest > now - windowMs then
  result = valueAggregate(window, dim, value, from, now)
  partial = redis.call('HGET', partialKey(window, dim), value)
elseif retired and retired > now - windowMs then
  -- Retired: what it holds, its later transactions in the overflow.
  result = valueAggregate(window, dim, value, from, now)
  local own = tonumber(redis.call('HGET', partialKey(window, dim), value))
  local overflow = tonumber(redis.call('HGET', partialKey(window, dim), ''))
  partial = math.max(own or -math.huge, overflow or -math.huge)
else
  result = emptyAggregate()
  partial = redis.call('HGET', partialKey(window, dim), '')
end
table.insert(result, 1, now)
result[#result + 1] = (partial and tonumber(partial) >= from) and 1 or 0
return result
