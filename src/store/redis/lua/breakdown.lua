#!lua
-- KEYS: meta. ARGV: root, at, windowMs, floor, queryWindowMs, dimension (1-based). Returns the instant,
-- the aggregates of the overflow and of the missing over the last queryWindowMs ms, 1 when the overflow
-- may hold transactions of values not tracked there (else 0), then for each tracked value with
-- transactions there or that may be incomplete: the value, 1 or 0 as VALUE's last, and its
-- aggregate.
--
--@include prelude
--@include aggregate
--@include dimension-keys
local now, window = advance()
local from = now - tonumber(ARGV[5]) + 1
local dim = ARGV[6]
local result = {now}
for _, prefix in ipairs({overflowPrefix(window, dim), missingPrefix(window, dim)}) do
  for _, field in ipairs(aggregate(prefix, from, now)) do result[#result + 1] = field end
end
local partials = {}
local all = redis.call('HGETALL', partialKey(window, dim))
for i = 1, #all, 2 do partials[all[i]] = tonumber(all[i + 1]) end
local function partial(key) return (partials[key] and partials[key] >= from) and 1 or 0 end
-- Whether values this shard does not track may have transactions in its overflow.
result[#result + 1] = partial('')
-- Per value, its whole seconds lo to hi are summed once while they stay the range (a record into
-- them drops the sum: see addValues), so a read at every millisecond adds two edges to it.
local lo = math.floor(from / COARSEST) + 1
local hi = math.floor(now / COARSEST) - 1
local range = int(lo) .. ',' .. int(hi) .. ','
local sums = {}
local written = false
if hi >= lo then
  local cached = redis.call('HGETALL', wholeKey(window, dim))
  for i = 1, #cached, 2 do sums[cached[i]] = cached[i + 1] end
end

-- Adds aggregate b into a (aggregate's form: count, limb sums, min text, max text).
local function combine(a, b)
  a[1] = a[1] + b[1]
  for i = 2, LIMBS + 1 do a[i] = a[i] + b[i] end
  if b[MIN] ~= '' and (a[MIN] == '' or tonumber(b[MIN]) < tonumber(a[MIN])) then a[MIN] = b[MIN] end
  if b[MAX] ~= '' and (a[MAX] == '' or tonumber(b[MAX]) > tonumber(a[MAX])) then a[MAX] = b[MAX] end
  return a
end

local function whole(prefix, value)
  local packed = sums[value]
  if packed and string.sub(packed, 1, #range) == range then
    local fields = {}
    local start = #range + 1
    while true do
      local comma = string.find(packed, ',', start, true)
      fields[#fields + 1] = string.sub(packed, start, (comma or 0) - 1)
      if not comma then break end
      start = comma + 1
    end
    for i = 1, LIMBS + 1 do fields[i] = tonumber(fields[i]) end
    return fields
  end
  local sum = aggregate(prefix, lo * COARSEST, hi * COARSEST + COARSEST - 1)
  local texts = {}
  for i = 1, LIMBS + 1 do texts[i] = int(sum[i]) end
  texts[MIN] = sum[MIN]
  texts[MAX] = sum[MAX]
  redis.call('HSET', wholeKey(window, dim), value, range .. table.concat(texts, ','))
  written = true
  return sum
end

local values = redis.call('ZRANGEBYSCORE', trackedKey(window, dim), '(' .. int(now - windowMs), '+inf')
for _, value in ipairs(values) do
  local prefix = valuePrefix(window, dim, value)
  local own
  if hi >= lo then
    own = aggregate(prefix, from, lo * COARSEST - 1)
    combine(own, whole(prefix, value))
    combine(own, aggregate(prefix, (hi + 1) * COARSEST, now))
  else
    own = aggregate(prefix, from, now)
  end
  if own[1] > 0 or partial(value) == 1 then
    result[#result + 1] = value
    result[#result + 1] = partial(value)
    for _, field in ipairs(own) do result[#result + 1] = field end
  end
end
if written then
  local ttl = redis.call('PTTL', trackedKey(window, dim))
  if ttl > 0 then redis.call('PEXPIRE', wholeKey(window, dim), ttl) end
end
return result
