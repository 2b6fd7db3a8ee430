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
-- (at least one value), and returns how many it read, then for each of those with transactions
-- there or that may be incomplete: the value, 1 or 0 as VALUE's last, and its aggregate.
--
--@include prelude
--@include aggregate
--@include dimension-keys
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
-- Per value, the sum of its whole seconds lo to hi is kept with the range it is of (a record
-- into them drops it: see addValues). When the range has moved, the sum is slid: the seconds
-- that left are taken off and those that came are added, one call each, unless a second that
-- left held the sum's min or max, which are then summed again from every second.
local lo = math.floor(from / COARSEST) + 1
local hi = math.floor(now / COARSEST) - 1
local sums = {}
local written = false
-- Blocks (or seconds) read so far by this step: it stops past C.BREAKDOWN_STEP_READS.
local spent = 0
if hi >= lo then sums = redis.call('HMGET', wholeKey(window, dim), unpack(values)) end

-- A value's whole second, as aggregate returns it.
local function secondOf(prefix, second)
  local block = parseBlock(redis.call('HGET', place(prefix, #SIZES, second)))
  if block == nil then return emptyAggregate() end
  block[MIN], block[MAX] = amountText(block[MIN]), amountText(block[MAX])
  return block
end

-- The cached sum unpacked: its range, then the aggregate; nil when there is none.
local function unpackWhole(packed)
  if not packed then return nil end
  local fields = {}
  for field in string.gmatch(packed, '([^,]*),?') do fields[#fields + 1] = field end
  local sum = {}
  for i = 1, LIMBS + 1 do sum[i] = tonumber(fields[i + 2]) end
  sum[MIN] = fields[MIN + 2]
  sum[MAX] = fields[MAX + 2]
  return tonumber(fields[1]), tonumber(fields[2]), sum
end

-- The sum slid from [was, wasHi] to [lo, hi]; nil when a second that left held its min or max.
local function slide(prefix, was, wasHi, sum)
  for second = was, math.min(lo - 1, wasHi) do
    local gone = secondOf(prefix, second)
    if gone[1] > 0 then
      if tonumber(gone[MIN]) <= tonumber(sum[MIN]) or tonumber(gone[MAX]) >= tonumber(sum[MAX]) then
        return nil
      end
      sum[1] = sum[1] - gone[1]
      for i = 2, LIMBS + 1 do sum[i] = sum[i] - gone[i] end
    end
  end
  for second = math.max(wasHi + 1, lo), hi do combine(sum, secondOf(prefix, second)) end
  if sum[1] == 0 then sum[MIN], sum[MAX] = '', '' end
  return sum
end

local function whole(prefix, value, packed)
  local was, wasHi, sum = unpackWhole(packed)
  if was == lo and wasHi == hi then return sum end
  -- Slid when it saves calls: the range moved forward by less than it is long.
  if was and was <= lo and wasHi <= hi and lo <= wasHi and (lo - was) + (hi - wasHi) < hi - lo then
    spent = spent + (lo - was) + (hi - wasHi)
    sum = slide(prefix, was, wasHi, sum)
  else
    sum = nil
  end
  if sum == nil then
    spent = spent + hi - lo + 1
    sum = aggregate(prefix, lo * COARSEST, hi * COARSEST + COARSEST - 1)
  end
  local texts = {int(lo), int(hi)}
  for i = 1, LIMBS + 1 do texts[i + 2] = int(sum[i]) end
  texts[MIN + 2] = sum[MIN]
  texts[MAX + 2] = sum[MAX]
  redis.call('HSET', wholeKey(window, dim), value, table.concat(texts, ','))
  written = true
  return sum
end

-- A value's [first, last] within one second: nothing to read when it sent nothing that second
-- (every transaction adds to its second's hash), else the core's decomposition.
local function edge(prefix, first, last)
  spent = spent + 1
  if redis.call('EXISTS', place(prefix, #SIZES, math.floor(first / COARSEST))) == 0 then
    return emptyAggregate()
  end
  -- At most 27 blocks: nine of each finer level.
  spent = spent + 27
  return aggregate(prefix, first, last)
end

local result = {0}
for i, value in ipairs(values) do
  if spent >= C.BREAKDOWN_STEP_READS then break end
  result[1] = i
  local prefix = valuePrefix(window, dim, value)
  local own
  if hi >= lo then
    own = edge(prefix, from, lo * COARSEST - 1)
    combine(own, whole(prefix, value, sums[i]))
    combine(own, edge(prefix, (hi + 1) * COARSEST, now))
  else
    own = edge(prefix, from, math.min(now, math.floor(from / COARSEST) * COARSEST + COARSEST - 1))
    if math.floor(now / COARSEST) > math.floor(from / COARSEST) then
      combine(own, edge(prefix, math.floor(now / COARSEST) * COARSEST, now))
    end
  end
  if own[1] > 0 or partial(i) == 1 then
    result[#result + 1] = value
    result[#result + 1] = partial(i)
    for _, field in ipairs(own) do result[#result + 1] = field end
  end
end
if written then
  local ttl = redis.call('PTTL', trackedKey(window, dim))
  if ttl > 0 then redis.call('PEXPIRE', wholeKey(window, dim), ttl) end
end
return result
