#!lua
-- A dimension's breakdown, read in steps so that no call holds Redis for long, however many
-- values are tracked. KEYS: meta. ARGV: root, at, windowMs, floor, queryWindowMs, dimension
-- (1-based), then for a step the instant and the window's prefix the first call returned, then
-- the values to read.
--
-- The first call (no instant) returns the instant, the window's prefix, the aggregates of the
-- overflow and of the missing over the last queryWindowMs ms, 1 when the overflow may hold
-- transactions of values not tracked there (else 0), the number of tracked values, then the
-- tracked values and after them the retired ones (see trackValues).
-- A step reads the values asked in order until it has read about C.BREAKDOWN_STEP_READS blocks
-- and rollups (at least one value), and returns how many it read, then for each of those with
-- transactions there or that may be incomplete: the value, 1 or 0 as VALUE's last, and its
-- aggregate as one packed block (formatBlock; a count of 0 is an empty one), which Node reads
-- as it is.
--
-- A step reads per second, not per value: the span's whole seconds from each value's kept sum of
-- them, and its edge seconds from their rollups (see rollupKey), one HMGET for all its values. A
-- value's edge is summed from the rollup's entries where it cuts the value's milliseconds of that
-- second, or block by block when that second has spilled (see rollups.lua).
--
--@include prelude
--@include aggregate
--@include dimension-keys
--@include rollups
local dim = ARGV[6]

if ARGV[7] == nil then
  local now, window = advance()
  local from = now - tonumber(ARGV[5]) + 1
  local result = {now, window}
  for _, prefix in ipairs({overflowPrefix(window, dim), missingPrefix(window, dim)}) do
    for _, field in ipairs(aggregate(prefix, from, now)) do result[#result + 1] = field end
  end
  local overflowNewest = tonumber(redis.call('HGET', partialKey(window, dim), ''))
  result[#result + 1] = (overflowNewest and overflowNewest >= from) and 1 or 0
  local oldest = '(' .. int(now - windowMs)
  local tracked = redis.call('ZRANGEBYSCORE', trackedKey(window, dim), oldest, '+inf')
  local retired = redis.call('ZRANGEBYSCORE', retiredKey(window, dim), oldest, '+inf')
  result[#result + 1] = #tracked
  for _, value in ipairs(tracked) do result[#result + 1] = value end
  for _, value in ipairs(retired) do result[#result + 1] = value end
  return result
end

local now = tonumber(ARGV[7])
local window = ARGV[8]
local from = now - tonumber(ARGV[5]) + 1
local values = {unpack(ARGV, 9)}
local partials = redis.call('HMGET', partialKey(window, dim), unpack(values))
local function partial(i) return (partials[i] and tonumber(partials[i]) >= from) and 1 or 0 end

-- The span is its first second's part from `from`, its whole seconds lo to hi, and its last
-- second's part up to now (the same second when the span is within one).
local first, last = math.floor(from / COARSEST), math.floor(now / COARSEST)
local lo, hi = first + 1, last - 1
local firstRollups = redis.call('HMGET', rollupKey(window, dim, first), unpack(values))
local lastRollups = last > first and redis.call('HMGET', rollupKey(window, dim, last), unpack(values)) or {}
local sums = hi >= lo and redis.call('HMGET', wholeKey(window, dim), unpack(values)) or {}
-- Blocks and rollups read so far by this step: it stops past C.BREAKDOWN_STEP_READS.
local spent = 4

-- The value's part of an edge second between from and to (see rollupPart), counted as spent.
local function edge(value, second, packed, from, to)
  local part, reads = rollupPart(window, dim, value, second, packed, from, to)
  spent = spent + reads
  return part
end

-- The kept sum of a value's whole seconds: the seconds it is of, and its block.
local function unpackWhole(packed)
  if not packed then return nil end
  local fields = {struct.unpack(C.WHOLE_SUM_FORMAT, packed)}
  local sum = {}
  for i = 1, MAX do sum[i] = fields[i + 2] end
  if sum[1] == 0 then sum[MIN], sum[MAX] = nil, nil end
  return fields[1], fields[2], sum
end

-- Per value taken: its aggregate so far, and what its whole seconds need (see below).
local taken = {}
local result = {0}
for i, value in ipairs(values) do
  if spent >= C.BREAKDOWN_STEP_READS then break end
  result[1] = i
  local own = emptyBlock()
  local entry = {value = value, own = own}
  taken[i] = entry
  local b = edge(value, first, firstRollups[i], from, math.min(now, first * COARSEST + COARSEST - 1))
  if b then addBlock(own, b) end
  if last > first then
    b = edge(value, last, lastRollups[i], last * COARSEST, now)
    if b then addBlock(own, b) end
  end
  spent = spent + 1
  if hi >= lo then
    -- The kept sum serves as it is when it is of lo to hi; slid when the range moved forward by
    -- less than it is long (the seconds that left taken off, those that came added); else summed
    -- again from every second.
    local was, wasHi, sum = unpackWhole(sums[i])
    if was == lo and wasHi == hi then
      addBlock(own, sum)
    elseif was and was <= lo and wasHi <= hi and lo <= wasHi and (lo - was) + (hi - wasHi) < hi - lo then
      entry.sum, entry.was, entry.wasHi = sum, was, wasHi
      spent = spent + (lo - was) + (hi - wasHi)
    else
      entry.sum = emptyBlock()
      spent = spent + hi - lo + 1
    end
  end
end

-- The seconds the sums need, each read once for every value that needs it.
local function eachSecond(needs, visit)
  local seconds = {}
  local order = {}
  for i, entry in pairs(needs) do
    for _, second in ipairs(entry.seconds) do
      local readers = seconds[second]
      if readers == nil then
        readers = {values = {}, entries = {}}
        seconds[second] = readers
        order[#order + 1] = second
      end
      readers.values[#readers.values + 1] = entry.value
      readers.entries[#readers.entries + 1] = entry
    end
  end
  for _, second in ipairs(order) do
    local readers = seconds[second]
    local rollups = redis.call('HMGET', rollupKey(window, dim, second), unpack(readers.values))
    for k, entry in ipairs(readers.entries) do
      if rollups[k] then visit(entry, second, (unpackRollup(rollups[k]))) end
    end
  end
end

-- Slides: a second that left holding the sum's min or max makes it summed again.
local sliding, again = {}, {}
for i, entry in pairs(taken) do
  if entry.sum and entry.was then
    entry.seconds = {}
    for second = entry.was, math.min(lo - 1, entry.wasHi) do entry.seconds[#entry.seconds + 1] = second end
    for second = math.max(entry.wasHi + 1, lo), hi do entry.seconds[#entry.seconds + 1] = second end
    sliding[i] = entry
  elseif entry.sum then
    again[i] = entry
  end
end
eachSecond(sliding, function(entry, second, block)
  local sum = entry.sum
  if sum == nil or block[1] == 0 then return end
  if second >= lo then return addBlock(sum, block) end
  if block[MIN] <= sum[MIN] or block[MAX] >= sum[MAX] then
    entry.sum = nil
    return
  end
  sum[1] = sum[1] - block[1]
  for k = 2, LIMBS + 1 do sum[k] = sum[k] - block[k] end
  if sum[1] == 0 then sum[MIN], sum[MAX] = nil, nil end
end)
for i, entry in pairs(sliding) do
  if entry.sum == nil then
    entry.sum = emptyBlock()
    again[i] = entry
  end
end
for _, entry in pairs(again) do
  entry.seconds = {}
  for second = lo, hi do entry.seconds[#entry.seconds + 1] = second end
end
eachSecond(again, function(entry, _, block) addBlock(entry.sum, block) end)

-- The sums kept, for the next reads; the answers.
local updates = {}
for i, entry in ipairs(taken) do
  local own = entry.own
  if entry.sum then
    local sum = entry.sum
    addBlock(own, sum)
    updates[#updates + 1] = entry.value
    local fields = {lo, hi}
    for k = 1, LIMBS + 1 do fields[k + 2] = sum[k] end
    fields[MIN + 2], fields[MAX + 2] = sum[MIN] or 0, sum[MAX] or 0
    updates[#updates + 1] = struct.pack(C.WHOLE_SUM_FORMAT, unpack(fields))
  end
  if own[1] > 0 or partial(i) == 1 then
    own[MIN], own[MAX] = own[MIN] or 0, own[MAX] or 0
    result[#result + 1] = entry.value
    result[#result + 1] = partial(i)
    result[#result + 1] = formatBlock(own)
  end
end
if #updates > 0 then
  redis.call('HSET', wholeKey(window, dim), unpack(updates))
  local ttl = redis.call('PTTL', trackedKey(window, dim))
  if ttl > 0 then redis.call('PEXPIRE', wholeKey(window, dim), ttl) end
end
return result
