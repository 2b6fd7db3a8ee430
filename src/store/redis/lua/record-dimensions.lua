-- The record's part for dimensions: each value's window, tracked values, their newest instants.
--@include dimension-keys

local dimensionsTouched = false

-- Values per command on a dimension's keys (ZMSCORE, HMGET, HSET, ZADD), that unpack can take.
local VALUE_CHUNK = 500

-- The aggregate of a value's transactions at ARGV[j] (packed as a block), read once.
local valueBlocks = {}
local function valueBlock(j)
  local block = valueBlocks[j]
  if block == nil then
    block = parseBlock(ARGV[j])
    valueBlocks[j] = block
  end
  return block
end

-- A value kept out is counted (admission.lua); on a try it takes the place of the lightest
-- tracked value, which is retired, at most retiredCapacity of them at once.
--@include admission
local retiredCapacity = math.max(1, math.ceil(maxValues / C.RETIRED_SHARE))
-- A tracked value's score in the hits sorted set: its latest counted generation, times
-- MAX_COUNTED + 1, plus its count then. So the first member is the lightest (isLighter), and no
-- count is ever reset: a value last counted in an older generation is lighter than any counted since.
local SPAN = C.MAX_COUNTED + 1
local generation = math.floor(now / windowMs)

-- A tracked value counted afresh: none yet in this generation.
local function startCount(dim, value)
  redis.call('ZADD', hitsKey(window, dim), generation * SPAN, value)
end

-- Per dimension, the transactions of each tracked value a group adds, counted at its end
-- (saveCounts): one ZMSCORE and one ZADD per dimension, not two commands per value.
local pendingHits = {}

local function countTracked(dim, value, n)
  local values = pendingHits[dim]
  if values == nil then
    values = {order = {}, n = {}}
    pendingHits[dim] = values
  end
  if values.n[value] == nil then
    values.order[#values.order + 1] = value
    values.n[value] = 0
  end
  values.n[value] = values.n[value] + n
end

-- Counts what countTracked gathered in this generation, at most C.MAX_COUNTED.
local function saveCounts()
  local base = generation * SPAN
  for dim, values in pairs(pendingHits) do
    local key = hitsKey(window, dim)
    for k = 1, #values.order, VALUE_CHUNK do
      local chunk = {unpack(values.order, k, math.min(k + VALUE_CHUNK - 1, #values.order))}
      local scores = redis.call('ZMSCORE', key, unpack(chunk))
      local updates = {}
      for m, value in ipairs(chunk) do
        local score = tonumber(scores[m])
        local counted = (score and score >= base) and score - base or 0
        updates[#updates + 1] = base + math.min(counted + values.n[value], C.MAX_COUNTED)
        updates[#updates + 1] = value
      end
      redis.call('ZADD', key, unpack(updates))
    end
  end
  pendingHits = {}
end

-- Tracks a value below the bound: a retired one again, with what it holds.
local function track(dim, value, overflowNewest)
  local zset = trackedKey(window, dim)
  local partial = partialKey(window, dim)
  local kept = redis.call('ZSCORE', retiredKey(window, dim), value)
  redis.call('HDEL', candidatesKey(window, dim), value)
  if kept then
    redis.call('ZREM', retiredKey(window, dim), value)
    redis.call('ZADD', zset, kept, value)
    startCount(dim, value)
    local before = tonumber(redis.call('HGET', partial, value))
    if overflowNewest and (before == nil or tonumber(overflowNewest) > before) then
      redis.call('HSET', partial, value, overflowNewest)
    end
  else
    -- Its score becomes its newest timestamp as its transactions are added.
    redis.call('ZADD', zset, 0, value)
    startCount(dim, value)
    -- Transactions of it may be in the overflow from before: its answers say so until they left.
    if overflowNewest then redis.call('HSET', partial, value, overflowNewest) end
  end
end

-- Counts n transactions of a value kept out; true when it took the lightest tracked one's place.
-- The one retired leaves `tracked`: its transactions of this call go to the overflow.
local function admit(dim, value, n, overflowNewest, tracked)
  local after = countCandidate(candidatesKey(window, dim), value, n, maxValues)
  if not isAdmissionTry(after - n, after) then return false end
  local retired = retiredKey(window, dim)
  if redis.call('ZCARD', retired) >= retiredCapacity and not redis.call('ZSCORE', retired, value) then
    return false
  end
  -- The lightest: the least score, of equal scores the first member (in byte order).
  local first = redis.call('ZRANGE', hitsKey(window, dim), 0, 0, 'WITHSCORES')
  local lightest, score = first[1], tonumber(first[2])
  if lightest == nil then return false end
  local counted = score >= generation * SPAN and score - generation * SPAN or 0
  if counted >= after then return false end
  local newest = redis.call('ZSCORE', trackedKey(window, dim), lightest)
  redis.call('ZREM', trackedKey(window, dim), lightest)
  redis.call('ZREM', hitsKey(window, dim), lightest)
  redis.call('ZADD', retired, newest, lightest)
  tracked[lightest] = nil
  track(dim, value, overflowNewest)
  return true
end

-- Releases a dimension's values whose newest transaction has left the window (tracked or
-- retired), then tracks the new values of the stored deltas, in the order they first appear
-- among the transactions, while fewer than maxValues are tracked; the others may be admitted.
-- Returns the set of values tracked. Twin of ValueWindows.
local function trackValues(stored, dim)
  local zset = trackedKey(window, dim)
  local partial = partialKey(window, dim)
  for _, key in ipairs({zset, retiredKey(window, dim)}) do
    local gone = redis.call('ZRANGEBYSCORE', key, '-inf', int(now - windowMs))
    if #gone > 0 then
      redis.call('ZREMRANGEBYSCORE', key, '-inf', int(now - windowMs))
      for k = 1, #gone, 1000 do
        local last = math.min(k + 999, #gone)
        redis.call('HDEL', partial, unpack(gone, k, last))
        redis.call('HDEL', wholeKey(window, dim), unpack(gone, k, last))
        redis.call('ZREM', hitsKey(window, dim), unpack(gone, k, last))
      end
    end
  end
  -- A new generation: the counts of values kept out start again (UNLINK frees them aside).
  if redis.call('GET', generationKey(window, dim)) ~= int(generation) then
    redis.call('SET', generationKey(window, dim), int(generation))
    redis.call('UNLINK', candidatesKey(window, dim))
  end
  local firstSeen = {}
  local counts = {}
  local order = {}
  for _, delta in ipairs(stored) do
    local at = delta.dims[dim]
    for k = 0, tonumber(ARGV[at]) - 1 do
      local j = at + 1 + k * GROUP
      local value = ARGV[j]
      if value ~= '' then
        local position = tonumber(ARGV[j + 1])
        local seen = firstSeen[value]
        if seen == nil then order[#order + 1] = value end
        if seen == nil or position < seen then firstSeen[value] = position end
        counts[value] = (counts[value] or 0) + valueBlock(j + 2)[1]
      end
    end
  end
  local tracked = {}
  local new = {}
  for k = 1, #order, VALUE_CHUNK do
    local chunk = {unpack(order, k, math.min(k + VALUE_CHUNK - 1, #order))}
    local scores = redis.call('ZMSCORE', zset, unpack(chunk))
    for m, value in ipairs(chunk) do
      if scores[m] then tracked[value] = true else new[#new + 1] = value end
    end
  end
  if #new == 0 then return tracked end
  table.sort(new, function(a, b) return firstSeen[a] < firstSeen[b] end)
  local count = redis.call('ZCARD', zset)
  local overflowNewest = redis.call('HGET', partial, '')
  for _, value in ipairs(new) do
    if count < maxValues then
      count = count + 1
      tracked[value] = true
      track(dim, value, overflowNewest)
    elseif admit(dim, value, counts[value], overflowNewest, tracked) then
      tracked[value] = true
    end
  end
  return tracked
end

-- Per dimension, the newest timestamp of each tracked value this call adds to (written once per
-- value by saveNewest), and under '' the newest it puts in the overflow.
local newest = {}

--@include record-rollups

-- Adds a stored delta's values to their windows, the overflow or the missing.
local function addValues(delta, timestamp, tracked)
  for dim = 1, dimensionCount do
    local at = delta.dims[dim]
    local latest = newest[dim]
    if latest == nil then
      latest = {}
      newest[dim] = latest
    end
    for k = 0, tonumber(ARGV[at]) - 1 do
      local j = at + 1 + k * GROUP
      local value = ARGV[j]
      local block = valueBlock(j + 2)
      local key = value
      if value == '' then
        key = nil
        addToBlocks(missingPrefix(window, dim), timestamp, block)
      elseif tracked[dim][value] then
        countTracked(dim, value, block[1])
        noteRollup(dim, value, timestamp, j + 2)
      else
        key = ''
        addToBlocks(overflowPrefix(window, dim), timestamp, block)
      end
      if key ~= nil and (latest[key] == nil or timestamp > latest[key]) then latest[key] = timestamp end
    end
  end
  dimensionsTouched = true
end

-- Writes the newest timestamps and the counts addValues gathered, once per value: before the
-- next group of the call tracks, admits or releases values, so that it sees them.
local function saveNewest()
  saveCounts()
  for dim, latest in pairs(newest) do
    local updates = {}
    for value, timestamp in pairs(latest) do
      if value == '' then
        local before = tonumber(redis.call('HGET', partialKey(window, dim), ''))
        if before == nil or timestamp > before then
          redis.call('HSET', partialKey(window, dim), '', int(timestamp))
        end
      else
        updates[#updates + 1] = int(timestamp)
        updates[#updates + 1] = value
      end
    end
    -- One ZADD per dimension, in chunks that unpack can take.
    for k = 1, #updates, 2 * VALUE_CHUNK do
      redis.call('ZADD', trackedKey(window, dim), 'GT', unpack(updates, k, math.min(k + 2 * VALUE_CHUNK - 1, #updates)))
    end
  end
  newest = {}
end

-- Keeps a dimension's keys of values as long as its values may need them, once a call has added
-- to them.
local function expireDimensions(ttlFloor)
  if not dimensionsTouched then return end
  -- A value is released once its newest transaction, at most the skew ahead, has left.
  local ttl = math.max(2 * (windowMs + skewMs) + MARGIN, ttlFloor)
  for dim = 1, dimensionCount do
    for _, key in ipairs({trackedKey(window, dim), partialKey(window, dim), wholeKey(window, dim),
        retiredKey(window, dim), hitsKey(window, dim), generationKey(window, dim),
        candidatesKey(window, dim)}) do
      redis.call('PEXPIRE', key, ttl)
    end
  end
end
