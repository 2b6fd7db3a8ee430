#!lua
-- The record script of a store keeping these features. KEYS: meta. ARGV: root, at, windowMs,
-- floor, clockSkewMs, ttlFloorMs, idempotency retention (ms), idempotency budget (bytes), quantile
-- budget (bytes; '' keeps no sketches), the number of dimensions, the values each tracks at most,
-- the idempotency budget's share per client (bytes), then groups: an idempotency key ('' for
-- none), a fingerprint, its client, its number of transactions, its number of deltas d, the
-- number of arguments its deltas take, then the d deltas (see recordAll).
-- Returns the instant, one letter per delta (OUTCOME_LETTERS, or x for a group refused), one state
-- per group, and for a group refused because the budget is spent, the ms until it has room.
--
--@include prelude
local skewMs = tonumber(ARGV[5])
local ttlFloor = tonumber(ARGV[6])
local MARGIN = 1000
local sketchBudget = tonumber(ARGV[9])
local dimensionCount = tonumber(ARGV[10])
local maxValues = tonumber(ARGV[11])
local GROUP = C.GROUP_WIDTH
--@feature sketches sketches sketches-off

-- The hashes this call touches: each read once, changed in Lua, and written once at the end
-- (flush), so a batch whose transactions share hashes (the usual case: they happened in the same
-- seconds) costs two commands per hash, not per transaction.
local hashes = {}
local touched = {}

-- How the window's hashes a group opens are read. Redis finds a field by name by scanning the
-- hash's compact encoding, and returns a hash read whole at a cost per field: a group of one delta
-- adds to two blocks of each hash it opens, read by name; a larger one (a batch spread over a
-- second adds to most blocks of each) reads each hash whole, once. Set per group (see recordAll).
local byName = false

-- The hash at key, read whole the first time unless the group reads by name (see readField) and
-- whole is not set: a value's hashes hold few blocks, and cost less read whole. It lives until
-- last, when its own block ends (see flush). Its blocks are parsed when first added to.
local function open(key, last, whole)
  local hash = hashes[key]
  if hash == nil then
    hash = {key = key, texts = {}, blocks = {}, changed = {}, last = last}
    hashes[key] = hash
    touched[#touched + 1] = key
    if byName and not whole then
      hash.read = {}
    else
      local all = redis.call('HGETALL', key)
      for i = 1, #all, 2 do hash.texts[all[i]] = all[i + 1] end
      hash.new = hash.texts[OWN] == nil
    end
  end
  return hash
end

-- Reads the block in that field by name, and with the first, the hash's own block, whose
-- presence says whether the hash is new.
local function readField(hash, field)
  local read = hash.read
  if read[OWN] == nil and field ~= OWN then
    local got = redis.call('HMGET', hash.key, OWN, field)
    hash.texts[OWN], hash.texts[field] = got[1] or nil, got[2] or nil
    read[OWN] = true
  else
    hash.texts[field] = redis.call('HGET', hash.key, field) or nil
  end
  read[field] = true
  if hash.new == nil then hash.new = hash.texts[OWN] == nil end
end

-- Adds the aggregate at ARGV[at] to the block in that field. Exact: counts and limbs are
-- integers far below 2^53, each limb but the top carried into (-10^9, 10^9) (the aggregate's
-- limbs come carried the same way, so one carry per limb suffices).
local function add(hash, field, at)
  if hash.read and not hash.read[field] then readField(hash, field) end
  local block = hash.blocks[field]
  if block == nil then
    block = parseBlock(hash.texts[field])
    hash.blocks[field] = block
  end
  hash.changed[field] = true
  local lowText, highText = ARGV[at + LIMBS + 1], ARGV[at + LIMBS + 2]
  if block == nil then
    block = {tonumber(ARGV[at])}
    for i = 1, LIMBS do block[i + 1] = tonumber(ARGV[at + i]) end
    block[MIN], block[MAX] = lowText, highText
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
  if tonumber(lowText) < tonumber(block[MIN]) then block[MIN] = lowText end
  if tonumber(highText) > tonumber(block[MAX]) then block[MAX] = highText end
end

-- Adds the aggregate at ARGV[at] to one block of a level (1-based) under a prefix: the window's
-- own, or a value's. The hash that holds it lives until the block of its own level (10 ms, or
-- 1 s) has left.
local function addToLevel(prefix, level, block, at)
  local key, field = place(prefix, level, block)
  local own = level % 2 == 0 and block or math.floor(block / 10)
  local size = SIZES[level % 2 == 0 and level or level + 1]
  add(open(key, own * size + size - 1), field, at)
end

-- One write per hash. A new hash expires once its own block, which ends at last, has left the
-- window, by Redis's clock: never before the window's instant, which is held at or ahead of it.
local function flush(clock)
  for _, key in ipairs(touched) do
    local hash = hashes[key]
    -- The hash's own block first: a new hash then holds it at the head of its encoding, where a
    -- read by name (every snapshot reads own blocks) finds it soonest.
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

local now, window, clock = advance()
-- No budget: quantiles are off, and no sketch is kept.
local sketches = sketchBudget and openSketches(window, now, skewMs, clock, ttlFloor)

--@feature dimensions record-dimensions dimensions-off

-- Records the d deltas whose arguments start at ARGV[first] (see fold.ts), then their blocks of
-- the coarser levels. Each delta holds the transactions of one millisecond: its timestamp,
-- count, limbs, min text and max text ('' for amounts outside the domain, judged only after the
-- timestamp, as the core does), its p quantile (index, count) pairs, then per dimension its
-- number of values and theirs (GROUP_WIDTH each). Then, per coarser level, its number of blocks
-- listed and theirs: each the block, the first and last timestamp of its deltas, then its count,
-- limbs, min and max. A block listed all of whose deltas are stored is added whole, once; any
-- other gets the deltas stored, one by one. The quantile pairs of each delta stored go to every
-- level, summed per block in Lua (see addPairs). Returns a letter per delta.
local function recordAll(first, d)
  local outcomes = {}
  local stored = {}
  local next = first
  for _ = 1, d do
    local i = next
    local timestamp = tonumber(ARGV[i])
    local lowText = ARGV[i + LIMBS + 2]
    local pairsAt = i + LIMBS + 5
    local p = tonumber(ARGV[pairsAt - 1])
    local dims = {}
    next = pairsAt + 2 * p
    for dim = 1, dimensionCount do
      dims[dim] = next
      next = next + 1 + tonumber(ARGV[next]) * GROUP
    end
    if timestamp <= now - windowMs then
      outcomes[#outcomes + 1] = C.OUTCOME_TOO_OLD
    elseif timestamp > now + skewMs then
      outcomes[#outcomes + 1] = C.OUTCOME_TOO_FAR_IN_FUTURE
    elseif lowText == '' then
      outcomes[#outcomes + 1] = C.OUTCOME_INVALID_AMOUNT
    else
      stored[#stored + 1] = {at = i, timestamp = timestamp, pairsAt = pairsAt, p = p, dims = dims}
      outcomes[#outcomes + 1] = C.OUTCOME_STORED
    end
  end
  byName = #stored == 1
  -- The coarser blocks listed: added whole when all their deltas are stored. Any other block
  -- gets its stored deltas one by one.
  local whole = {}
  for level = 2, #SIZES do
    whole[level] = {}
    local b = tonumber(ARGV[next])
    next = next + 1
    for _ = 1, b do
      local j = next
      local block = tonumber(ARGV[j])
      next = j + LIMBS + 6
      if tonumber(ARGV[j + 1]) > now - windowMs and tonumber(ARGV[j + 2]) <= now + skewMs then
        addToLevel(window, level, block, j + 3)
        whole[level][block] = true
      end
    end
  end
  local tracked = {}
  if #stored > 0 then
    for dim = 1, dimensionCount do tracked[dim] = trackValues(stored, dim) end
  end
  for _, delta in ipairs(stored) do
    local i = delta.at
    local timestamp = delta.timestamp
    for level = 1, #SIZES do
      local block = math.floor(timestamp / SIZES[level])
      if level == 1 or not whole[level][block] then addToLevel(window, level, block, i + 1) end
      if sketches then addToSketch(sketches, level, block, delta.pairsAt, delta.p) end
    end
    if dimensionCount > 0 then addValues(delta, timestamp, tracked) end
  end
  if dimensionCount > 0 then saveNewest() end
  return table.concat(outcomes)
end

-- Idempotency keys (src/core/idempotency.ts). A key is remembered as one string,
-- "<instant it is forgotten>:<fingerprint>:<outcome letters>", expiring after the retention.
-- The bytes they are charged are kept in a ring of CHARGE_SPANS + 2 spans of retention / CHARGE_SPANS each, tagged
-- like the core's slots ("<i>t" the span's number, "<i>b" its bytes), so the ring never needs
-- sweeping: a span is live while a key remembered in it may be. One ring for all the keys of the
-- shard, held to the budget, and one per client, held to its share: they expire with their keys.
local retention = tonumber(ARGV[7])
local budget = tonumber(ARGV[8])
local clientShare = tonumber(ARGV[12])
local SPANS = C.CHARGE_SPANS
local RING = SPANS + 2
local spanMs = math.max(1, math.ceil(retention / SPANS))
local ledgers = {}

-- A ledger's live spans' bytes, oldest first: {span, bytes} pairs, read once per call.
local function liveCharges(ledger)
  local charges = ledgers[ledger]
  if charges then return charges end
  local current = math.floor(now / spanMs)
  local oldest = math.floor((now - retention) / spanMs)
  local names = {}
  for slot = 0, RING - 1 do
    names[#names + 1] = slot .. 't'
    names[#names + 1] = slot .. 'b'
  end
  local values = redis.call('HMGET', ledger, unpack(names))
  charges = {}
  ledgers[ledger] = charges
  for span = oldest, current do
    local slot = span % RING
    local bytes = 0
    if tonumber(values[slot * 2 + 1]) == span then bytes = tonumber(values[slot * 2 + 2]) end
    charges[#charges + 1] = {span, bytes}
  end
  return charges
end

-- 0 when cost bytes fit in the ledger's budget now, else the ms until enough spans have expired.
local function waitIn(ledger, budget, cost)
  local spans = liveCharges(ledger)
  local used = 0
  for _, charge in ipairs(spans) do used = used + charge[2] end
  local free = budget - used
  if free >= cost then return 0 end
  for _, charge in ipairs(spans) do
    free = free + charge[2]
    if free >= cost then return (charge[1] + 1) * spanMs + retention - now end
  end
  return retention
end

local function waitForRoom(client, cost)
  return math.max(waitIn(root .. 'once-bytes', budget, cost),
    waitIn(root .. 'once-bytes:' .. client, clientShare, cost))
end

local function chargeIn(ledger, cost)
  local spans = liveCharges(ledger)
  local latest = spans[#spans]
  latest[2] = latest[2] + cost
  local slot = latest[1] % RING
  redis.call('HSET', ledger, slot .. 't', int(latest[1]), slot .. 'b', int(latest[2]))
  redis.call('PEXPIRE', ledger, retention + 2 * spanMs)
end

local function charge(client, cost)
  chargeIn(root .. 'once-bytes', cost)
  chargeIn(root .. 'once-bytes:' .. client, cost)
end

-- Per group (a request, or the requests without a key of a call): its key ('' for none), its
-- fingerprint, its number of transactions n, its number of deltas d, then the deltas. A group's
-- state: n recorded now, r replayed (the letters are those remembered), m the key was used with
-- another request, b the budget is spent (m and b record nothing; their letters are x). Letters
-- are one per delta: the caller knows which transactions each delta holds.
local letters = {}
local states = {}
local wait = 0
local i = 13
while i <= #ARGV do
  local key, fingerprint, client = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local n, d = tonumber(ARGV[i + 3]), tonumber(ARGV[i + 4])
  local first = i + 6
  i = first + tonumber(ARGV[i + 5])
  local state = 'n'
  if key == '' then
    letters[#letters + 1] = recordAll(first, d)
  else
    local name = root .. 'once:' .. key
    local remembered = redis.call('GET', name)
    local forgetAt, said, past
    if remembered then forgetAt, said, past = string.match(remembered, '^(%d+):([^:]*):(.*)$') end
    if forgetAt and tonumber(forgetAt) > now then
      if said == fingerprint then
        state = 'r'
        letters[#letters + 1] = past
      else
        state = 'm'
        letters[#letters + 1] = string.rep('x', d)
      end
    else
      local cost = C.ENTRY_OVERHEAD_BYTES + #key + #fingerprint + n
      local after = waitForRoom(client, cost)
      if after > 0 then
        state = 'b'
        wait = math.max(wait, after)
        letters[#letters + 1] = string.rep('x', d)
      else
        local outcomes = recordAll(first, d)
        letters[#letters + 1] = outcomes
        redis.call('SET', name, int(now + retention) .. ':' .. fingerprint .. ':' .. outcomes,
          'PX', math.max(now + retention - clock, 1) + MARGIN)
        charge(client, cost)
      end
    end
  end
  states[#states + 1] = state
end
flush(clock)
if sketches then
  writeSketches(sketches, sketchBudget)
  saveSketches(sketches)
end
expireDimensions(ttlFloor)
return {now, table.concat(letters), table.concat(states), wait}
