-- Blocks added to in Lua: the dimensions' values', which every instance adds to, and a
-- partition's for a delta judged at the call's own instant (see judgeEdges). Each hash a call
-- touches is read whole once, changed in Lua, and written once at the end (flushValueBlocks), so
-- a batch whose values share hashes costs two commands per hash, not per transaction.
local hashes = {}
local touched = {}

-- The hash at key, read whole the first time. It lives until last, when its own block ends (see
-- flushValueBlocks). Its blocks are parsed when first added to.
local function open(key, last)
  local hash = hashes[key]
  if hash == nil then
    hash = {key = key, texts = {}, blocks = {}, changed = {}, last = last}
    hashes[key] = hash
    touched[#touched + 1] = key
    local all = redis.call('HGETALL', key)
    for i = 1, #all, 2 do hash.texts[all[i]] = all[i + 1] end
    hash.new = hash.texts[OWN] == nil
  end
  return hash
end

-- Adds the aggregate at ARGV[at] (count, limbs, min text, max text) to the block in that field.
-- A min or max text is the amount's shortest decimal: tonumber gives the amount itself.
-- Exact: counts and limbs are integers far below 2^53, each limb but the top carried into
-- (-10^9, 10^9) (the aggregate's limbs come carried the same way, so one carry per limb suffices).
local function add(hash, field, at)
  local block = hash.blocks[field]
  if block == nil then
    block = parseBlock(hash.texts[field])
    hash.blocks[field] = block
  end
  hash.changed[field] = true
  local low, high = tonumber(ARGV[at + LIMBS + 1]), tonumber(ARGV[at + LIMBS + 2])
  if block == nil then
    block = {tonumber(ARGV[at])}
    for i = 1, LIMBS do block[i + 1] = tonumber(ARGV[at + i]) end
    block[MIN], block[MAX] = low, high
    hash.blocks[field] = block
    return
  end
  block[1] = block[1] + tonumber(ARGV[at])
  local carry = 0
  for i = 1, LIMBS do
    local limb = block[i + 1] + tonumber(ARGV[at + i]) + carry
    carry = 0
    if i < LIMBS and limb >= BASE then
      limb, carry = limb - BASE, 1
    elseif i < LIMBS and limb <= -BASE then
      limb, carry = limb + BASE, -1
    end
    block[i + 1] = limb
  end
  if low < block[MIN] then block[MIN] = low end
  if high > block[MAX] then block[MAX] = high end
end

-- Adds the aggregate at ARGV[at] to the blocks of a timestamp at every level under a prefix:
-- the 1 ms and 10 ms blocks in the 10 ms hash, the 100 ms and 1 s blocks in the second's.
local function addToBlocks(prefix, timestamp, at)
  local tens, tenField = place(prefix, 1, timestamp)
  local hash = open(tens, math.floor(timestamp / SIZES[2]) * SIZES[2] + SIZES[2] - 1)
  add(hash, tenField, at)
  add(hash, OWN, at)
  local second, secondField = place(prefix, 3, math.floor(timestamp / SIZES[3]))
  hash = open(second, math.floor(timestamp / COARSEST) * COARSEST + COARSEST - 1)
  add(hash, secondField, at)
  add(hash, OWN, at)
end

-- One write per hash. A new hash expires once its own block, which ends at last, has left the
-- window, by Redis's clock: never before the window's instant, which is held at or ahead of it.
local function flushValueBlocks(clock)
  for _, key in ipairs(touched) do
    local hash = hashes[key]
    -- The hash's own block first: a new hash then holds it at the head of its encoding, where a
    -- read by name (every aggregate reads own blocks) finds it soonest.
    local updates = {}
    local changed = hash.changed
    if changed[OWN] then
      updates[1], updates[2] = OWN, formatBlock(hash.blocks[OWN])
      changed[OWN] = nil
    end
    for field in pairs(changed) do
      updates[#updates + 1] = field
      updates[#updates + 1] = formatBlock(hash.blocks[field])
    end
    redis.call('HSET', key, unpack(updates))
    if hash.new then
      redis.call('PEXPIRE', key, math.max(hash.last + windowMs + MARGIN - clock, ttlFloor))
    end
  end
end
