-- The quantile sketches of a window, read: each partition's, as its writer wrote them
-- (partition-sketches.ts). A partition's sketch of a block at level l (1-based) is in its hash
-- C.SKETCH_HASHES[l]<⌊block / 10⌋>, each index a field <block % 10>:<index> holding its count; its
-- hash C.SKETCH_KEPT_HASH holds, per finer level, the first block whose sketch it still keeps
-- (those before were freed early, under its budget).

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

-- Every partition's (by its prefix) sketches of the blocks covering [lo, hi] (the core's decomposition): per
-- hash that holds any, the digits of the blocks wanted there, then the hash's fields and counts
-- as HGETALL answers them. Node keeps the fields of those digits and adds their counts.
local function readSketches(prefixes, lo, hi)
  local wanted, order = {}, {}
  eachBlock(lo, hi, function(level, block)
    local group = math.floor(block / 10)
    local name = C.SKETCH_HASHES[level] .. int(group)
    if wanted[name] == nil then
      wanted[name] = {}
      order[#order + 1] = name
    end
    local digits = wanted[name]
    digits[#digits + 1] = int(block - group * 10)
  end)
  local result = {}
  for _, prefix in ipairs(prefixes) do
    for _, name in ipairs(order) do
      local all = redis.call('HGETALL', prefix .. name)
      if #all > 0 then
        result[#result + 1] = table.concat(wanted[name])
        result[#result + 1] = all
      end
    end
  end
  return result
end
