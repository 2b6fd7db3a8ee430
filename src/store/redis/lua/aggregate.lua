-- The statistics of [from, to]: the core's decomposition into the coarsest aligned blocks.
-- A block of its own hash is one HGET; the blocks held by digit (the 1 ms and 100 ms levels, up
-- to nine of which an edge reads from one hash) come from the hash read whole once per aggregate.
local function blockAt(hashes, key, field)
  if field == OWN then return redis.call('HGET', key, field) end
  local fields = hashes[key]
  if fields == nil then
    fields = {}
    local all = redis.call('HGETALL', key)
    for i = 1, #all, 2 do fields[all[i]] = all[i + 1] end
    hashes[key] = fields
  end
  return fields[field]
end

-- An empty block, as aggregateBlock returns it: {count, the limb sums}, no min or max.
local function emptyBlock()
  local block = {0}
  for i = 1, LIMBS do block[i + 1] = 0 end
  return block
end

-- Adds block b into a (aggregateBlock's form: a min and max nil when empty).
local function addBlock(a, b)
  a[1] = a[1] + b[1]
  for i = 2, LIMBS + 1 do a[i] = a[i] + b[i] end
  if b[1] > 0 then
    if a[MIN] == nil or b[MIN] < a[MIN] then a[MIN] = b[MIN] end
    if a[MAX] == nil or b[MAX] > a[MAX] then a[MAX] = b[MAX] end
  end
end

-- Twin of RollingWindow.#aggregate (src/core/window.ts), as a block: {count, the limb sums, min,
-- max}, the min and max nil when it is empty.
local function aggregateBlock(window, from, to)
  local result = emptyBlock()
  local hashes = {}
  eachBlock(from, to, function(level, block)
    local values = parseBlock(blockAt(hashes, place(window, level, block)))
    if values then addBlock(result, values) end
  end)
  return result
end

-- A block in aggregateBlock's form as a script answers it: count, limb sums, min text, max text
-- ('' when empty).
local function answered(result)
  result[MIN] = result[MIN] and amountText(result[MIN]) or ''
  result[MAX] = result[MAX] and amountText(result[MAX]) or ''
  return result
end

-- The statistics of [from, to] as a script answers them.
local function aggregate(window, from, to)
  return answered(aggregateBlock(window, from, to))
end

-- The prefixes of the window's partitions that may hold blocks in it: those whose latest block
-- (their score: see record.lua) has not left.
local function partitionsOf(window, now)
  local ids = redis.call('ZRANGEBYSCORE', partitionsKey(window), '(' .. int(now - windowMs), '+inf')
  local prefixes = {}
  for k, id in ipairs(ids) do prefixes[k] = partitionPrefix(window, id) end
  return prefixes
end

-- An empty aggregate, as aggregate returns it.
local function emptyAggregate()
  local result = {0}
  for i = 1, LIMBS do result[i + 1] = 0 end
  result[MIN] = ''
  result[MAX] = ''
  return result
end

-- Adds aggregate b into a (aggregate's form: count, limb sums, min text, max text).
local function combine(a, b)
  a[1] = a[1] + b[1]
  for i = 2, LIMBS + 1 do a[i] = a[i] + b[i] end
  if b[MIN] ~= '' and (a[MIN] == '' or tonumber(b[MIN]) < tonumber(a[MIN])) then a[MIN] = b[MIN] end
  if b[MAX] ~= '' and (a[MAX] == '' or tonumber(b[MAX]) > tonumber(a[MAX])) then a[MAX] = b[MAX] end
  return a
end

-- The statistics of [from, to] over every partition, as aggregate returns them.
local function aggregateAll(prefixes, from, to)
  local result = emptyAggregate()
  for _, prefix in ipairs(prefixes) do combine(result, aggregate(prefix, from, to)) end
  return result
end
