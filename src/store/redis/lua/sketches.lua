-- Quantile sketches (twin of BlockSketches, src/core/block-sketches.ts): per level and block, a
-- hash <window>q<level>:<block> of mapping index → count, the indices computed in Node. Per
-- level, a sorted set <window>qz<level> of the blocks that have a hash, so that freeing the old
-- ones touches only those. The state <window>q: k<level>, the first block of the level that may
-- hold a sketch; b, the bytes charged, as the core charges them. <window>qs: the sum of the
-- whole-second sketches held, as the core keeps it.
--
local SKETCH_BYTES = C.SKETCH_BYTES
local ENTRY_BYTES = C.SKETCH_ENTRY_BYTES
local STATE_FIELDS = {}
for level = 1, #SIZES do STATE_FIELDS[level] = 'k' .. level end
STATE_FIELDS[#SIZES + 1] = 'b'

local SKETCH_KINDS = C.SKETCH_KINDS
local function sketchKey(s, level, block)
  return hashOf(s.window, SKETCH_KINDS[level], block)
end

-- The sum of every whole-second sketch held (BlockSketches.#seconds): index -> count.
local function secondsKey(s)
  return s.window .. 'qs'
end

local function freeBlock(s, level, block)
  local key = sketchKey(s, level, block)
  local n
  if level == #SIZES then
    local all = redis.call('HGETALL', key)
    n = #all / 2
    for i = 1, #all, 2 do
      if redis.call('HINCRBY', secondsKey(s), all[i], -tonumber(all[i + 1])) == 0 then
        redis.call('HDEL', secondsKey(s), all[i])
      end
    end
  else
    n = redis.call('HLEN', key)
  end
  if n > 0 then
    s.bytes = s.bytes - SKETCH_BYTES - n * ENTRY_BYTES
    redis.call('DEL', key)
  end
end

-- Twin of BlockSketches.forgetBefore: frees every block before the one holding oldestMs.
local function forgetBefore(s, oldestMs)
  for level = 1, #SIZES do
    local first = math.floor(oldestMs / SIZES[level])
    local kept = s.kept[level]
    if kept == nil or first > kept then
      local zset = s.window .. 'qz' .. level
      local blocks = redis.call('ZRANGEBYSCORE', zset, '-inf', '(' .. int(first))
      for _, block in ipairs(blocks) do freeBlock(s, level, tonumber(block)) end
      if #blocks > 0 then redis.call('ZREMRANGEBYSCORE', zset, '-inf', '(' .. int(first)) end
      s.kept[level] = first
      s.changed = true
      -- Every transaction is in a block of the coarsest level, which is never freed early: when
      -- none is left, nothing is, and nothing is charged (a hash that expired while its service
      -- was idle is charged no more).
      if level == #SIZES and redis.call('ZCARD', zset) == 0 then
        s.bytes = 0
        redis.call('DEL', secondsKey(s))
      end
    end
  end
end

-- The state of the sketches of a window, read once per call, its old blocks freed.
local function openSketches(window, now, skewMs, clock, ttlFloor)
  local values = redis.call('HMGET', window .. 'q', unpack(STATE_FIELDS))
  local s = {window = window, kept = {}, bytes = tonumber(values[#SIZES + 1]) or 0,
    pending = {}, order = {}, now = now, newest = now + skewMs, clock = clock,
    ttlFloor = ttlFloor, changed = false}
  for level = 1, #SIZES do s.kept[level] = tonumber(values[level]) end
  forgetBefore(s, now - windowMs + 1)
  return s
end

-- Twin of BlockSketches.#evict: frees the oldest kept blocks of the finest levels first.
local function evict(s, budget)
  for level = 1, #SIZES - 1 do
    local newest = math.floor(s.newest / SIZES[level])
    local zset = s.window .. 'qz' .. level
    local kept = s.kept[level]
    while s.bytes > budget and kept <= newest do
      local block = redis.call('ZRANGEBYSCORE', zset, int(kept), int(newest), 'LIMIT', 0, 1)[1]
      if block == nil then
        kept = newest + 1
      else
        freeBlock(s, level, tonumber(block))
        redis.call('ZREM', zset, block)
        kept = tonumber(block) + 1
      end
    end
    s.kept[level] = kept
    s.changed = true
    if s.bytes <= budget then return end
  end
end

-- Adds the p (index, count) pairs at ARGV[first] to what this call adds to the hash at key, in
-- Lua: writeSketches writes each hash once, so a call costs Redis a few commands per block it
-- touches, not one per index. block is nil for the sum of the whole seconds, which is no block.
local function addPairs(s, key, level, block, first, p)
  local pending = s.pending[key]
  if pending == nil then
    pending = {level = level, block = block, counts = {}, indices = {}}
    s.pending[key] = pending
    s.order[#s.order + 1] = key
  end
  local counts, indices = pending.counts, pending.indices
  for j = first, first + 2 * p - 2, 2 do
    local index = ARGV[j]
    local before = counts[index]
    if before == nil then
      indices[#indices + 1] = index
      before = 0
    end
    counts[index] = before + tonumber(ARGV[j + 1])
  end
end

-- Adds p pairs to the sketch of a block, unless it was freed, and a second's to their sum.
local function addToSketch(s, level, block, first, p)
  if block < s.kept[level] then return end
  addPairs(s, sketchKey(s, level, block), level, block, first, p)
  if level == #SIZES then addPairs(s, secondsKey(s), nil, nil, first, p) end
end

-- Writes what the call added: per hash, one HMGET of its indices and one HSET of their counts
-- (in chunks that unpack can take), or one HINCRBY for a single index, charging each index new to
-- a block. A hash lives, unless freed first, until twice the window and the skew after its block
-- ends: freed by then whenever the window is in use (see forgetBefore). Then frees the oldest
-- blocks while over the budget.
local CHUNK = 1000
-- A count as Redis stores it. Counts repeat (most are small), and Lua formats a number into a
-- string at a cost far above a table lookup: each is formatted once per call.
local COUNT_TEXTS = {}
local function countText(count)
  local text = COUNT_TEXTS[count]
  if text == nil then
    text = int(count)
    COUNT_TEXTS[count] = text
  end
  return text
end
local function writeSketches(s, budget)
  for _, key in ipairs(s.order) do
    local pending = s.pending[key]
    local indices, counts = pending.indices, pending.counts
    -- A block holding any of the indices already has its hash, and its place in the level's set.
    local held = false
    if #indices == 1 then
      -- One index: one command instead of two.
      local index = indices[1]
      local count = counts[index]
      if redis.call('HINCRBY', key, index, count) ~= count then
        held = true
      elseif pending.block then
        s.bytes = s.bytes + ENTRY_BYTES
      end
    else
      for k = 1, #indices, CHUNK do
        local chunk = {unpack(indices, k, math.min(k + CHUNK - 1, #indices))}
        local values = redis.call('HMGET', key, unpack(chunk))
        local updates = {}
        for m, index in ipairs(chunk) do
          local before = tonumber(values[m])
          if before ~= nil then
            held = true
          else
            before = 0
            if pending.block then s.bytes = s.bytes + ENTRY_BYTES end
          end
          updates[#updates + 1] = index
          updates[#updates + 1] = countText(before + counts[index])
        end
        redis.call('HSET', key, unpack(updates))
      end
    end
    local level, block = pending.level, pending.block
    local zset = block and s.window .. 'qz' .. level
    if block and not held and redis.call('ZADD', zset, block, int(block)) == 1 then
      s.bytes = s.bytes + SKETCH_BYTES
      local last = (block + 1) * SIZES[level] - 1
      local ttl = last + 2 * (windowMs + s.newest - s.now) + MARGIN - s.clock
      redis.call('PEXPIRE', key, math.max(ttl, s.ttlFloor))
    end
    s.changed = true
  end
  if s.bytes > budget then evict(s, budget) end
end

local function saveSketches(s)
  if not s.changed then return end
  local fields = {}
  for level = 1, #SIZES do
    fields[#fields + 1] = STATE_FIELDS[level]
    fields[#fields + 1] = int(s.kept[level])
  end
  fields[#fields + 1] = 'b'
  fields[#fields + 1] = int(s.bytes)
  redis.call('HSET', s.window .. 'q', unpack(fields))
  local ttl = math.max(2 * (windowMs + s.newest - s.now) + MARGIN, s.ttlFloor)
  redis.call('PEXPIRE', s.window .. 'q', ttl)
  for level = 1, #SIZES do redis.call('PEXPIRE', s.window .. 'qz' .. level, ttl) end
  redis.call('PEXPIRE', secondsKey(s), ttl)
end

-- Twin of BlockSketches.merge: the (index, count) pairs of [from, to], an edge cut at a coarser
-- level where the finer one was freed. Returns the interval read, the edge and the pairs. A long
-- interval starts from the sum of the whole seconds and takes out those outside it.
local function mergeSketches(s, from, to)
  local lo, hi, edge = from, to, 1
  for level = 1, #SIZES - 1 do
    local size, next = SIZES[level], SIZES[level + 1]
    local kept = s.kept[level]
    if lo % next ~= 0 and math.floor(lo / size) < kept then
      lo = math.floor(lo / next) * next
      edge = next
    end
    local start = math.floor((hi + 1) / next) * next
    if (hi + 1) % next ~= 0 and start >= lo and start / size < kept then
      hi = start + next - 1
      edge = next
    end
  end
  local counts = {}
  local function addAll(key, sign)
    local all = redis.call('HGETALL', key)
    for i = 1, #all, 2 do counts[all[i]] = (counts[all[i]] or 0) + sign * tonumber(all[i + 1]) end
  end
  local function addBlocks(from, to)
    eachBlock(from, to, function(level, block) addAll(sketchKey(s, level, block), 1) end)
  end
  local top = #SIZES
  local second = SIZES[top]
  local firstWhole = math.ceil(lo / second)
  local lastWhole = math.floor((hi + 1) / second) - 1
  local oldest = s.kept[top]
  local newest = math.floor(s.newest / second)
  local outside = math.max(0, firstWhole - oldest) + math.max(0, newest - lastWhole)
  if lastWhole - firstWhole + 1 <= outside then
    addBlocks(lo, hi)
  else
    addAll(secondsKey(s), 1)
    for block = oldest, firstWhole - 1 do addAll(sketchKey(s, top, block), -1) end
    for block = lastWhole + 1, newest do addAll(sketchKey(s, top, block), -1) end
    if lo < firstWhole * second then addBlocks(lo, firstWhole * second - 1) end
    if hi > lastWhole * second + second - 1 then addBlocks((lastWhole + 1) * second, hi) end
  end
  local flat = {}
  for index, count in pairs(counts) do
    if count ~= 0 then
      flat[#flat + 1] = index
      flat[#flat + 1] = count
    end
  end
  return lo, hi, edge, flat
end
