#!lua
-- The record script of a store keeping these features. KEYS: meta. ARGV: root, at, windowMs,
-- floor, clockSkewMs, ttlFloorMs, idempotency retention (ms), idempotency budget (bytes), '1' when
-- the store keeps quantile sketches ('' when not), the number of dimensions, the values each
-- tracks at most, the idempotency budget's share per client (bytes), then the writer's partition:
-- its id, the writes of it acknowledged so far, its generation ('' for any), the instants lo and
-- hi the writer judged its transactions for ('' for unbounded), its score ('' for none yet), its
-- number of hashes written and theirs; with sketches then '1' when its sketches' pointers are to
-- be written ('' when not), the pointers (one per finer level, '' for none), the first second of
-- its sum of whole seconds, the number of its sketch hashes to delete and their names; then the groups: an idempotency key ('' for none), a
-- fingerprint, its client, its number of transactions, its outcome letters (one per delta, those
-- of deltas left to the call to judge a placeholder), its number of such deltas and theirs (see
-- judgeEdges), its number of deltas d sent for the dimensions, the number of arguments they take,
-- then the d deltas (see recordFeatures).
-- Returns the instant, one letter per delta (the writer's, the remembered ones of a replay, or x
-- for a group refused), one state per group, for a group refused because the budget is spent
-- the ms until it has room, then why nothing was written ('' when the call recorded: see
-- REFUSALS in partition.ts), the window's generation, the partition's count of writes and, when
-- it recorded, its score.
--
--@include prelude
local skewMs = tonumber(ARGV[5])
local ttlFloor = tonumber(ARGV[6])
local MARGIN = 1000
local sketches = ARGV[9] ~= ''
local dimensionCount = tonumber(ARGV[10])
local maxValues = tonumber(ARGV[11])
local GROUP = C.GROUP_WIDTH

local now, window, clock, gen = advance()

--@include value-blocks
--@feature dimensions record-dimensions dimensions-off
--@include once

-- The writer's partition: the window's blocks this writer (one process, on this shard) stored,
-- which only it writes, each block whole. Its writes are counted, so that a writer that lost
-- track of what Redis holds (a call that timed out, a Redis that restarted) is told, and starts
-- a partition afresh.
local partition = ARGV[13]
local partitionKey = partitionSeqKey(window, partition)
local expected = ARGV[14]
local lo, hi = tonumber(ARGV[16]), tonumber(ARGV[17])
local refusal = ''
local writes = redis.call('GET', partitionKey) or '0'
if ARGV[15] ~= '' and ARGV[15] ~= int(gen) then
  refusal = C.REFUSED_GENERATION
elseif writes ~= expected then
  refusal = C.REFUSED_LOST
elseif (lo and now < lo) or (hi and now > hi) then
  refusal = C.REFUSED_JUDGED
end
if refusal ~= '' then return {now, '', '', 0, refusal, gen, tonumber(writes)} end

-- The groups: what each holds, and for those with a key, whether they may be recorded. One
-- that may not refuses the call: the writer's blocks include every group's transactions.
local groups = {}
local letters = {}
local states = {}
local wait = 0
local hashCount = tonumber(ARGV[19])
local hashesAt = 20
local i = hashesAt
for _ = 1, hashCount do i = i + 3 + 2 * tonumber(ARGV[i + 2]) end
local keptAt = i
local deletesAt = keptAt + #SIZES + 1
if sketches then i = deletesAt + 1 + tonumber(ARGV[deletesAt]) end
-- A delta left to the call: its letter's place, timestamp, aggregate packed as a block ('' for
-- amounts outside the domain), then its number of quantile indices and its (index, count) pairs.
local EDGE = 4
while i <= #ARGV do
  local group = {key = ARGV[i], fingerprint = ARGV[i + 1], client = ARGV[i + 2],
    n = tonumber(ARGV[i + 3]), letters = ARGV[i + 4], e = tonumber(ARGV[i + 5]), edgesAt = i + 6}
  local j = group.edgesAt
  for _ = 1, group.e do j = j + EDGE + 2 * tonumber(ARGV[j + EDGE - 1]) end
  group.d = tonumber(ARGV[j])
  group.first = j + 2
  i = group.first + tonumber(ARGV[j + 1])
  local state, past, after = 'n', nil, 0
  if group.key ~= '' then
    state, past, after = admitKey(group.key, group.fingerprint, group.client, group.n)
  end
  if state ~= 'n' then refusal = C.REFUSED_KEYS end
  groups[#groups + 1] = group
  states[#states + 1] = state
  if state == 'r' then
    letters[#letters + 1] = past
  elseif state == 'n' then
    letters[#letters + 1] = group.letters
  else
    letters[#letters + 1] = string.rep('x', #group.letters)
    wait = math.max(wait, after or 0)
  end
end
if refusal ~= '' then
  return {now, table.concat(letters), table.concat(states), wait, refusal, gen, tonumber(writes)}
end

-- The partition's hashes, each its blocks written whole: per hash its name under the partition,
-- the instant its own block ends when the hash is new ('' otherwise), its number of fields, then
-- (field, value) pairs: a block, or a sketch's count. A sketch's hash may hold thousands: they go
-- in chunks that unpack can take. First, the sketch hashes the writer deletes: groups it freed
-- early whole, and its sum of whole seconds when written whole.
local prefix = partitionPrefix(window, partition)
if sketches then
  local names = {}
  for k = 1, tonumber(ARGV[deletesAt]) do names[k] = prefix .. ARGV[deletesAt + k] end
  for k = 1, #names, 1000 do redis.call('DEL', unpack(names, k, math.min(k + 999, #names))) end
end
local CHUNK = 2 * 1000
local h = hashesAt
for _ = 1, hashCount do
  local key = prefix .. ARGV[h]
  local last = ARGV[h + 1]
  local f = tonumber(ARGV[h + 2])
  local to = h + 2 + 2 * f
  for from = h + 3, to, CHUNK do
    redis.call('HSET', key, unpack(ARGV, from, math.min(from + CHUNK - 1, to)))
  end
  if last ~= '' then
    redis.call('PEXPIRE', key, math.max(tonumber(last) + windowMs + MARGIN - clock, ttlFloor))
  end
  h = h + 3 + 2 * f
end
local kept = math.max(windowMs + skewMs + MARGIN, ttlFloor)
-- The partition's sketches (sketches.lua): the pointers below which it freed a finer level's
-- early, written when they moved, living as long as any block written now.
local sketchKept = {}
local sumFrom
if sketches then
  for level = 1, #SIZES - 1 do sketchKept[level] = tonumber(ARGV[keptAt + level]) or -math.huge end
  sumFrom = tonumber(ARGV[keptAt + #SIZES])
  if ARGV[keptAt] ~= '' then
    local key = prefix .. C.SKETCH_KEPT_HASH
    local fields = {}
    for level = 1, #SIZES - 1 do
      fields[#fields + 1] = C.SKETCH_KEPT_FIELDS[level]
      fields[#fields + 1] = ARGV[keptAt + level]
    end
    redis.call('HSET', key, unpack(fields))
    redis.call('PEXPIRE', key, kept)
  end
end
writes = tonumber(expected) + 1
redis.call('SET', partitionKey, int(writes), 'PX', kept)
-- Each partition is scored by an instant its blocks do not pass: readers skip those whose blocks
-- have all left. A block written now is at most the skew ahead, so the score is moved only when
-- that passes it, and then a while ahead (C.ANNOUNCE_MS), not at every call.
local announced = tonumber(ARGV[18])
if announced == nil or now + skewMs > announced then
  announced = now + skewMs + C.ANNOUNCE_MS
  local parts = partitionsKey(window)
  redis.call('ZADD', parts, announced, partition)
  redis.call('ZREMRANGEBYSCORE', parts, '-inf', int(now - windowMs))
  redis.call('PEXPIRE', parts, kept + C.ANNOUNCE_MS)
end

-- Records a group's d deltas whose arguments start at ARGV[first] (see fold.ts) in the
-- dimensions' values. Each delta holds the transactions of one millisecond: its timestamp, then
-- per dimension its number of values and theirs (GROUP_WIDTH each: the value, where its first
-- transaction is, and its transactions' aggregate packed as a block). Its letter (the writer's
-- judgement, which this call's instant confirms) says whether it is stored.
local function recordFeatures(group)
  local stored = {}
  local next = group.first
  for k = 1, group.d do
    local j = next
    local dims = {}
    next = j + 1
    for dim = 1, dimensionCount do
      dims[dim] = next
      next = next + 1 + tonumber(ARGV[next]) * GROUP
    end
    if string.sub(group.letters, k, k) == C.OUTCOME_STORED then
      stored[#stored + 1] = {timestamp = tonumber(ARGV[j]), dims = dims}
    end
  end
  if #stored == 0 then return end
  local tracked = {}
  for dim = 1, dimensionCount do tracked[dim] = trackValues(stored, dim) end
  for _, delta in ipairs(stored) do addValues(delta, delta.timestamp, tracked) end
  saveNewest()
end

-- Adds a delta's p (index, count) pairs at ARGV[first] to the partition's sketches of its
-- blocks at every level, those the partition still keeps, and to its sum of whole seconds from
-- the sum's first second, in Lua: only for a delta this call judged itself (the writer's others
-- come counted, as fields to write). Expiries as partition-sketches.ts sets them.
local function addToSketches(timestamp, first, p)
  for level = 1, #SIZES do
    local block = math.floor(timestamp / SIZES[level])
    if level == #SIZES or block >= sketchKept[level] then
      local size = C.SKETCH_GROUPS[level]
      local group = math.floor(block / size)
      local key = prefix .. C.SKETCH_HASHES[level] .. int(group)
      local digit = int(block - group * size) .. ':'
      for j = first, first + 2 * p - 2, 2 do
        redis.call('HINCRBY', key, digit .. ARGV[j], ARGV[j + 1])
      end
      local last = (group + 1) * size * SIZES[level] - 1
      if level == #SIZES then last = last + windowMs + skewMs end
      redis.call('PEXPIRE', key, math.max(last + windowMs + MARGIN - clock, ttlFloor))
    end
  end
  local second = math.floor(timestamp / COARSEST)
  if second >= sumFrom then
    local key = prefix .. C.SKETCH_SUM_HASH
    for j = first, first + 2 * p - 2, 2 do redis.call('HINCRBY', key, ARGV[j], ARGV[j + 1]) end
    local last = second * COARSEST + COARSEST - 1
    if redis.call('PTTL', key) < last + windowMs + MARGIN - clock then
      redis.call('PEXPIRE', key, math.max(last + windowMs + MARGIN - clock, ttlFloor))
    end
  end
end

-- The deltas the writer left to this call: those near an edge of the window (too old, too far
-- ahead) at its estimate, whose judgement the instant read here may turn. Each is judged here, by
-- the core's rules in the core's order, and a stored one added to the partition's blocks and
-- sketches in Lua (value-blocks.lua, addToSketches), on top of those written whole. Each is its
-- letter's index, then the delta: timestamp, aggregate packed as a block ('' outside the
-- domain), its number of quantile indices and its pairs.
local function judgeEdges(group)
  if group.e == 0 then return end
  local chars = {}
  for k = 1, #group.letters do chars[k] = string.sub(group.letters, k, k) end
  local next = group.edgesAt
  for _ = 1, group.e do
    local at = next
    local p = tonumber(ARGV[at + EDGE - 1])
    next = at + EDGE + 2 * p
    local t = tonumber(ARGV[at + 1])
    local letter = C.OUTCOME_STORED
    if t <= now - windowMs then
      letter = C.OUTCOME_TOO_OLD
    elseif t > now + skewMs then
      letter = C.OUTCOME_TOO_FAR_IN_FUTURE
    elseif ARGV[at + 2] == '' then
      letter = C.OUTCOME_INVALID_AMOUNT
    else
      addToBlocks(prefix, t, parseBlock(ARGV[at + 2]))
      if sketches then addToSketches(t, at + EDGE, p) end
    end
    chars[tonumber(ARGV[at])] = letter
  end
  group.letters = table.concat(chars)
end

for k, group in ipairs(groups) do
  judgeEdges(group)
  letters[k] = group.letters
  if group.key ~= '' then remember(group.key, group.fingerprint, group.letters, clock) end
  if group.d > 0 then recordFeatures(group) end
end
writeRollups(clock)
flushValueBlocks(clock)
saveCharges()
expireDimensions(ttlFloor)
return {now, table.concat(letters), table.concat(states), wait, '', gen, writes, announced}
