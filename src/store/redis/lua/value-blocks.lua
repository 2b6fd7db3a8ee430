-- Blocks added to in Lua: the dimensions' (their overflows', missing values' and values' spilled
-- seconds), which every instance adds to, and a partition's for a delta judged at the call's own
-- instant (see judgeEdges). A call notes what it
-- adds to each block, then reads each hash it adds to once (only the fields it adds to, one
-- HMGET), adds in Lua and writes the hash once (flushValueBlocks): a batch whose values share
-- hashes costs two commands per hash, not per transaction. Reading a whole hash, or an
-- aggregate's arguments once per level, would cost a script more than the commands do.
local hashes = {}
local touched = {}

-- The hash at key, noted the first time. It lives until last, when its own block ends (see
-- flushValueBlocks). A hash table (C.TABLE_FIELD) is written its marker first, with every write.
local function open(key, last, hashTable)
  local hash = hashes[key]
  if hash == nil then
    hash = {key = key, fields = {}, adds = {}, last = last}
    if hashTable then hash.fields[1] = C.TABLE_FIELD end
    hashes[key] = hash
    touched[#touched + 1] = key
  end
  return hash
end

-- Notes that an aggregate (a block: count, limbs, min, max) is added to the block in that field.
local function note(hash, name, delta)
  local adds = hash.adds[name]
  if adds == nil then
    adds = {}
    hash.adds[name] = adds
    hash.fields[#hash.fields + 1] = name
  end
  adds[#adds + 1] = delta
end

-- The block with an aggregate added; a copy of the aggregate for none. Exact: counts and limbs
-- are integers far below 2^53, each limb but the top carried into (-10^9, 10^9) (the
-- aggregate's limbs come carried the same way, so one carry per limb suffices).
local function add(block, delta)
  if block == nil then return {unpack(delta, 1, MAX)} end
  block[1] = block[1] + delta[1]
  local carry = 0
  for i = 2, LIMBS + 1 do
    local limb = block[i] + delta[i] + carry
    carry = 0
    if i <= LIMBS and limb >= BASE then
      limb, carry = limb - BASE, 1
    elseif i <= LIMBS and limb <= -BASE then
      limb, carry = limb + BASE, -1
    end
    block[i] = limb
  end
  if delta[MIN] < block[MIN] then block[MIN] = delta[MIN] end
  if delta[MAX] > block[MAX] then block[MAX] = delta[MAX] end
  return block
end

-- Notes an aggregate for the blocks of a timestamp at every level under a prefix: the 1 ms and
-- 10 ms blocks in the 10 ms hash, the 100 ms and 1 s blocks in the second's. Each hash's own
-- block first, so that a new hash holds it at the head of its encoding, where a read by name
-- (every aggregate reads own blocks) finds it soonest.
local function addToBlocks(prefix, timestamp, delta)
  local tens, tenField = place(prefix, 1, timestamp)
  local hash = open(tens, math.floor(timestamp / SIZES[2]) * SIZES[2] + SIZES[2] - 1)
  note(hash, OWN, delta)
  note(hash, tenField, delta)
  local second, secondField = place(prefix, 3, math.floor(timestamp / SIZES[3]))
  hash = open(second, math.floor(timestamp / COARSEST) * COARSEST + COARSEST - 1)
  note(hash, OWN, delta)
  note(hash, secondField, delta)
end

-- One read and one write per hash. A new hash expires once its own block, which ends at last,
-- has left the window, by Redis's clock: never before the window's instant, which is held at or
-- ahead of it.
local function flushValueBlocks(clock)
  for _, key in ipairs(touched) do
    local hash = hashes[key]
    local fields = hash.fields
    local packed = redis.call('HMGET', key, unpack(fields))
    local updates = {}
    for k, name in ipairs(fields) do
      if name == C.TABLE_FIELD then
        updates[2 * k - 1], updates[2 * k] = name, C.TABLE_VALUE
      else
        local block = parseBlock(packed[k])
        for _, delta in ipairs(hash.adds[name]) do block = add(block, delta) end
        updates[2 * k - 1], updates[2 * k] = name, formatBlock(block)
      end
    end
    redis.call('HSET', key, unpack(updates))
    -- Every write adds to the hash's own block, or writes its marker, noted first: without it
    -- the hash is new.
    if not packed[1] then
      redis.call('PEXPIRE', key, math.max(hash.last + windowMs + MARGIN - clock, ttlFloor))
    end
  end
end
