-- The quantile sketches of a window, read: each partition's, as its writer wrote them
-- (partition-sketches.ts). A partition's sketch of a block at level l (1-based) is in its hash
-- C.SKETCH_HASHES[l]<⌊block / g⌋>, g = C.SKETCH_GROUPS[l], each index a field <block mod g>:<index>
-- holding its count; its hash C.SKETCH_SUM_HASH the sum of its whole seconds; its hash
-- C.SKETCH_KEPT_HASH, per finer level, the first block whose sketch it still keeps (those before
-- were freed early, under its budget).

-- The first block of each finer level that every partition (by its prefix) still keeps a sketch of.
local function keptOf(prefixes)
  local kept = {}
  for level = 1, #SIZES - 1 do kept[level] = -math.huge end
  for _, prefix in ipairs(prefixes) do
    local values = redis.call('HMGET', prefix .. C.SKETCH_KEPT_HASH,
      unpack(C.SKETCH_KEPT_FIELDS))
    for level = 1, #SIZES - 1 do
      local value = tonumber(values[level])
      if value and value > kept[level] then kept[level] = value end
    end
  end
  return kept
end

-- Twin of the edges of BlockSketches.merge: [from, to], an edge cut at a coarser level where a
-- finer one was freed. Returns the interval to read and the edge's size (1 when exact).
local function cutEdges(kept, from, to)
  local lo, hi, edge = from, to, 1
  for level = 1, #SIZES - 1 do
    local size, next = SIZES[level], SIZES[level + 1]
    if lo % next ~= 0 and math.floor(lo / size) < kept[level] then
      lo = math.floor(lo / next) * next
      edge = next
    end
    local start = math.floor((hi + 1) / next) * next
    if (hi + 1) % next ~= 0 and start >= lo and start / size < kept[level] then
      hi = start + next - 1
      edge = next
    end
  end
  return lo, hi, edge
end

-- Every partition's (by its prefix) sketches of the blocks covering [lo, hi] (the core's
-- decomposition): per hash read, the digits of the blocks wanted there, led by '-' when they are
-- to be taken out, then the hash's fields and counts as HGETALL answers them (the sum's fields
-- are indices, under the digits '*'). Node keeps the fields of those digits and adds their counts.
-- A partition's whole seconds come from its sum of whole seconds, less those outside [lo, hi],
-- when that reads fewer seconds than the interval holds (twin of BlockSketches.merge): the sum
-- holds every second of the partition from its first (SKETCH_SUM_FROM) on, none ahead of
-- newest, the last second a transaction can have now. A second it holds is kept at least the
-- window and the skew after the window passed it, so it can be taken out as long as the sum
-- lives.
local function readSketches(prefixes, lo, hi, newest)
  -- The hashes holding the blocks visit names (add(level, block, sign)), each with its digits.
  local function hashesOf(visit)
    local byKey, list = {}, {}
    visit(function(level, block, sign)
      local size = C.SKETCH_GROUPS[level]
      local group = math.floor(block / size)
      local name = C.SKETCH_HASHES[level] .. int(group)
      local entry = byKey[sign .. name]
      if entry == nil then
        entry = {name = name, digits = {sign}}
        byKey[sign .. name] = entry
        list[#list + 1] = entry
      end
      entry.digits[#entry.digits + 1] = int(block - group * size)
    end)
    for _, entry in ipairs(list) do entry.digits = table.concat(entry.digits) end
    return list
  end
  local result = {}
  local function read(prefix, list)
    for _, entry in ipairs(list) do
      local all = redis.call('HGETALL', prefix .. entry.name)
      if #all > 0 then
        result[#result + 1] = entry.digits
        result[#result + 1] = all
      end
    end
  end
  local top = #SIZES
  local second = SIZES[top]
  local firstWhole = math.ceil(lo / second)
  local lastWhole = math.floor((hi + 1) / second) - 1
  local inside = lastWhole - firstWhole + 1
  -- Every block of [lo, hi]; its edges outside its whole seconds.
  local direct = hashesOf(function(add)
    eachBlock(lo, hi, function(level, block) add(level, block, '') end)
  end)
  local edges = hashesOf(function(add)
    if inside <= 0 then return end
    if lo < firstWhole * second then
      eachBlock(lo, firstWhole * second - 1, function(level, block) add(level, block, '') end)
    end
    if hi > lastWhole * second + second - 1 then
      eachBlock((lastWhole + 1) * second, hi, function(level, block) add(level, block, '') end)
    end
  end)
  for _, prefix in ipairs(prefixes) do
    local from = tonumber(redis.call('HGET', prefix .. C.SKETCH_SUM_HASH, C.SKETCH_SUM_FROM))
    local outside = from and math.abs(firstWhole - from) + math.max(0, newest - lastWhole)
    if outside == nil or inside <= outside then
      read(prefix, direct)
    else
      read(prefix, edges)
      read(prefix, hashesOf(function(add)
        for block = from, firstWhole - 1 do add(top, block, '-') end
        for block = firstWhole, from - 1 do add(top, block, '') end
        for block = lastWhole + 1, newest do add(top, block, '-') end
      end))
      result[#result + 1] = '*'
      result[#result + 1] = redis.call('HGETALL', prefix .. C.SKETCH_SUM_HASH)
    end
  end
  return result
end
