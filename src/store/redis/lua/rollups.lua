-- Reading a tracked value's seconds from their rollups (see rollupKey and C.ROLLUP_FORMAT): a
-- head per second, and the second's entries (entriesKey) while they are at most
-- C.ROLLUP_ENTRIES, none once the second has spilled to its fine hash (fineKey).

-- A rollup's head unpacked: the second's block, the first and last millisecond it holds there,
-- and its number of entries.
local function unpackRollup(packed)
  local rollup = {struct.unpack(C.ROLLUP_FORMAT, packed)}
  return rollup, rollup[MAX + 1], rollup[MAX + 2], rollup[MAX + 3]
end

-- The sum of packed entries whose millisecond is in [from, to], as aggregateBlock returns it.
local function sumEntries(packed, from, to)
  local sum = emptyBlock()
  for pos = 1, #packed, C.ROLLUP_ENTRY_BYTES do
    local entry = {struct.unpack(C.ROLLUP_ENTRY_FORMAT, packed, pos)}
    local ms = entry[1]
    if ms >= from and ms <= to then
      sum[1] = sum[1] + entry[2]
      for i = 2, LIMBS + 1 do sum[i] = sum[i] + entry[i + 1] end
      if sum[MIN] == nil or entry[MIN + 1] < sum[MIN] then sum[MIN] = entry[MIN + 1] end
      if sum[MAX] == nil or entry[MAX + 1] > sum[MAX] then sum[MAX] = entry[MAX + 1] end
    end
  end
  return sum
end

-- The sum over [from, to] of a spilled second (within it, not all of it): the blocks of the
-- core's decomposition (at most 27) read from its fine hash with one HMGET.
local function fineBlock(window, dim, value, second, from, to)
  local names = {}
  eachBlock(from, to, function(level, block) names[#names + 1] = fineField(level, block) end)
  local packed = redis.call('HMGET', fineKey(window, dim, value, second), unpack(names))
  local sum = emptyBlock()
  for k = 1, #names do
    local block = parseBlock(packed[k])
    if block then addBlock(sum, block) end
  end
  return sum, #names
end

-- A value's part of one of its seconds between from and to (both in that second), given the
-- second's head, and the fields it read besides: none; the head's block whole; where the span
-- cuts the milliseconds the value holds there, the sum of its entries in the span, or for a
-- spilled second of the blocks of the core's decomposition in its fine hash.
local function rollupPart(window, dim, value, second, packed, from, to)
  if not packed then return nil, 0 end
  local block, earliest, latest, entries = unpackRollup(packed)
  if latest < from or earliest > to then return nil, 0 end
  if earliest >= from and latest <= to then return block, 0 end
  if entries > 0 then
    return sumEntries(redis.call('HGET', entriesKey(window, dim, second), value), from, to), 1
  end
  return fineBlock(window, dim, value, second, from, to)
end

-- A value's aggregate over [from, to], from its rollups second by second, as aggregate answers.
local function valueAggregate(window, dim, value, from, to)
  local result = emptyBlock()
  for second = math.floor(from / COARSEST), math.floor(to / COARSEST) do
    local start = second * COARSEST
    local packed = redis.call('HGET', rollupKey(window, dim, second), value)
    local part = rollupPart(window, dim, value, second, packed, math.max(from, start),
      math.min(to, start + COARSEST - 1))
    if part then addBlock(result, part) end
  end
  return answered(result)
end
