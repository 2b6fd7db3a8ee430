-- The statistics of [from, to]: the core's decomposition into the coarsest aligned blocks.
-- The fields of a block: a block of its own hash in one HMGET; a block held as "<digit>:" fields
-- (the 1 ms and 100 ms levels, up to nine of which an edge reads from one hash) from the hash
-- read whole once per aggregate.
local function blockFields(hashes, level, key, prefix)
  if prefix == '' then return redis.call('HMGET', key, unpack(namesOf(prefix))) end
  local fields = hashes[key]
  if fields == nil then
    fields = {}
    local all = redis.call('HGETALL', key)
    for i = 1, #all, 2 do fields[all[i]] = all[i + 1] end
    hashes[key] = fields
  end
  local values = {}
  for i, name in ipairs(namesOf(prefix)) do values[i] = fields[name] or false end
  return values
end

-- Twin of RollingWindow.#aggregate (src/core/window.ts).
local function aggregate(window, from, to)
  local count = 0
  local sums = {}
  for i = 1, LIMBS do sums[i] = 0 end
  local low, lowText, high, highText
  local hashes = {}
  eachBlock(from, to, function(level, block)
    local key, prefix = place(window, level, block)
    local values = blockFields(hashes, level, key, prefix)
    if values[1] then
      count = count + tonumber(values[1])
      for i = 1, LIMBS do
        if values[i + 1] then sums[i] = sums[i] + tonumber(values[i + 1]) end
      end
      local n = tonumber(values[MIN])
      local x = tonumber(values[MAX])
      if low == nil or n < low then low, lowText = n, values[MIN] end
      if high == nil or x > high then high, highText = x, values[MAX] end
    end
  end)
  local result = {count}
  for i = 1, LIMBS do result[i + 1] = sums[i] end
  result[MIN] = lowText or ''
  result[MAX] = highText or ''
  return result
end
