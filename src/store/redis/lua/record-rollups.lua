-- The record's part for each tracked value's seconds (see rollupKey): per second, its rollup's
-- head, and its deltas while it holds at most C.ROLLUP_ENTRIES (entriesKey), then its fine hash
-- (fineKey) once that second has spilled.

-- Per dimension and second, the tracked values this call adds to there: each one's first and
-- last millisecond of it in this call, and its deltas there, each as a block and as an entry.
local rollups = {}

local function noteRollup(dim, value, timestamp, j)
  local second = math.floor(timestamp / COARSEST)
  local seconds = rollups[dim]
  if seconds == nil then
    seconds = {}
    rollups[dim] = seconds
  end
  local values = seconds[second]
  if values == nil then
    values = {order = {}, spans = {}}
    seconds[second] = values
  end
  local entry = struct.pack(C.MILLISECOND_FORMAT, timestamp) .. ARGV[j]
  local span = values.spans[value]
  if span == nil then
    values.order[#values.order + 1] = value
    values.spans[value] = {first = timestamp, last = timestamp, deltas = {valueBlock(j)}, entries = {entry}}
    return
  end
  if timestamp < span.first then span.first = timestamp end
  if timestamp > span.last then span.last = timestamp end
  local n = #span.deltas + 1
  span.deltas[n], span.entries[n] = valueBlock(j), entry
end

-- Notes an aggregate for a value's spilled second (fineKey): its 1 ms, 10 ms and 100 ms blocks.
local function addToFine(key, second, timestamp, delta)
  local hash = open(key, second * COARSEST + COARSEST - 1, true)
  for level = 1, #SIZES - 1 do
    note(hash, fineField(level, math.floor(timestamp / SIZES[level])), delta)
  end
end

-- A breakdown keeps each value's sum of its whole seconds lo to hi (see breakdown.lua, with its
-- format): what this call added to any of those seconds is added to it, so that it stays exact.
-- Only seconds before the current one can be in one. One HMGET and at most one HSET per dimension.
local function addToWholeSums(dim, seconds)
  local current = math.floor(now / COARSEST)
  local late = {}
  local order = {}
  for second, values in pairs(seconds) do
    if second < current then
      for _, value in ipairs(values.order) do
        if late[value] == nil then
          late[value] = {}
          order[#order + 1] = value
        end
        late[value][second] = values.spans[value].deltas
      end
    end
  end
  if #order == 0 then return end
  local updates = {}
  for k = 1, #order, VALUE_CHUNK do
    local chunk = {unpack(order, k, math.min(k + VALUE_CHUNK - 1, #order))}
    local sums = redis.call('HMGET', wholeKey(window, dim), unpack(chunk))
    for m, value in ipairs(chunk) do
      if sums[m] then
        local sum = {struct.unpack(C.WHOLE_SUM_FORMAT, sums[m])}
        local changed = false
        for second, deltas in pairs(late[value]) do
          if second >= sum[1] and second <= sum[2] then
            changed = true
            for _, added in ipairs(deltas) do
              local empty = sum[3] == 0
              for i = 1, LIMBS + 1 do sum[i + 2] = sum[i + 2] + added[i] end
              if empty or added[MIN] < sum[MIN + 2] then sum[MIN + 2] = added[MIN] end
              if empty or added[MAX] > sum[MAX + 2] then sum[MAX + 2] = added[MAX] end
            end
          end
        end
        if changed then
          updates[#updates + 1] = value
          updates[#updates + 1] = struct.pack(C.WHOLE_SUM_FORMAT, unpack(sum, 1, MAX + 2))
        end
      end
    end
  end
  if #updates > 0 then redis.call('HSET', wholeKey(window, dim), unpack(updates)) end
end

-- Writes the rollups of a chunk of the values this call added to in a second (at most
-- VALUE_CHUNK): each one's head, its block with the call's deltas added, the span of milliseconds
-- it holds widened by the call's, and its number of entries; and its entries, those before with
-- the call's appended, or, past C.ROLLUP_ENTRIES or once spilled, none: every delta is then noted
-- for the second's fine hash (flushValueBlocks writes it). Reads the entries only of the
-- values that hold some. Returns whether a head was new.
local function writeChunk(dim, second, values, chunk)
  local key = rollupKey(window, dim, second)
  local entriesAt = entriesKey(window, dim, second)
  local heads = redis.call('HMGET', key, unpack(chunk))
  local fresh = false
  local blocks, held, holding = {}, {}, {}
  for m, value in ipairs(chunk) do
    if heads[m] then
      local block = {struct.unpack(C.ROLLUP_FORMAT, heads[m])}
      blocks[m], held[m] = block, block[MAX + 3]
      if held[m] > 0 then holding[#holding + 1] = value end
    else
      fresh, held[m] = true, -1
    end
  end
  local before = {}
  if #holding > 0 then
    local packed = redis.call('HMGET', entriesAt, unpack(holding))
    for k, value in ipairs(holding) do before[value] = packed[k] end
  end
  local headUpdates, entryUpdates, dropped = {}, {}, {}
  for m, value in ipairs(chunk) do
    local span = values.spans[value]
    local block, first, last, count = blocks[m], span.first, span.last, held[m]
    if block then
      first, last = math.min(first, block[MAX + 1]), math.max(last, block[MAX + 2])
    end
    for _, delta in ipairs(span.deltas) do block = add(block, delta) end
    if count == 0 or math.max(count, 0) + #span.deltas > C.ROLLUP_ENTRIES then
      local fine = fineKey(window, dim, value, second)
      local old = before[value] or ''
      for pos = 1, #old, C.ROLLUP_ENTRY_BYTES do
        local entry = {struct.unpack(C.ROLLUP_ENTRY_FORMAT, old, pos)}
        addToFine(fine, second, entry[1], {unpack(entry, 2, MAX + 1)})
      end
      for k, delta in ipairs(span.deltas) do
        addToFine(fine, second, struct.unpack(C.MILLISECOND_FORMAT, span.entries[k]), delta)
      end
      if count > 0 then dropped[#dropped + 1] = value end
      count = 0
    else
      local entries = table.concat(span.entries)
      if count > 0 then entries = before[value] .. entries end
      entryUpdates[#entryUpdates + 1] = value
      entryUpdates[#entryUpdates + 1] = entries
      count = math.max(count, 0) + #span.deltas
    end
    block[MAX + 1], block[MAX + 2], block[MAX + 3] = first, last, count
    headUpdates[#headUpdates + 1] = value
    headUpdates[#headUpdates + 1] = struct.pack(C.ROLLUP_FORMAT, unpack(block, 1, MAX + 3))
  end
  redis.call('HSET', key, unpack(headUpdates))
  if #entryUpdates > 0 then redis.call('HSET', entriesAt, unpack(entryUpdates)) end
  if #dropped > 0 then redis.call('HDEL', entriesAt, unpack(dropped)) end
  return fresh
end

-- Writes each value's rollup of every second this call added to (writeChunk), then what it
-- added to the breakdowns' kept sums: per dimension and second one HMGET and one HSET of heads,
-- and at most one HMGET, HSET and HDEL of entries, per chunk of values that unpack can take. A
-- second's new rollups expire with its hashes. Before flushValueBlocks, which writes the blocks of
-- the seconds that spill.
local function writeRollups(clock)
  for dim, seconds in pairs(rollups) do
    for second, values in pairs(seconds) do
      local fresh = false
      for k = 1, #values.order, VALUE_CHUNK do
        local chunk = values.order
        if k > 1 or #chunk > VALUE_CHUNK then
          chunk = {unpack(values.order, k, math.min(k + VALUE_CHUNK - 1, #values.order))}
        end
        if writeChunk(dim, second, values, chunk) then fresh = true end
      end
      if fresh then
        local ttl = math.max(second * COARSEST + COARSEST - 1 + windowMs + MARGIN - clock, ttlFloor)
        redis.call('PEXPIRE', rollupKey(window, dim, second), ttl)
        redis.call('PEXPIRE', entriesKey(window, dim, second), ttl)
      end
    end
    addToWholeSums(dim, seconds)
  end
  rollups = {}
end
