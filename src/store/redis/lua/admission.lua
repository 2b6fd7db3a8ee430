-- Twin of admission.ts: whether a count tries for a place, and the counts of values kept out.

local function log2floor(n) return math.floor(math.log(n) / math.log(2) + 1e-9) end

-- Twin of isAdmissionTry.
local function isAdmissionTry(before, after)
  if after < C.ADMISSION_EVIDENCE then return false end
  if before < C.ADMISSION_EVIDENCE then return true end
  return log2floor(before) < log2floor(after)
end

-- Counts n transactions of a value kept out, in the hash `key` of at most `capacity` counts; its
-- count now (0: not kept). Twin of Candidates.add (Misra–Gries).
local function countCandidate(key, value, n, capacity)
  if redis.call('HEXISTS', key, value) == 1 then return redis.call('HINCRBY', key, value, n) end
  if redis.call('HLEN', key) >= capacity then
    local all = redis.call('HGETALL', key)
    local least = n
    for i = 2, #all, 2 do least = math.min(least, tonumber(all[i])) end
    local gone, kept = {}, {}
    for i = 1, #all, 2 do
      local count = tonumber(all[i + 1])
      if count == least then gone[#gone + 1] = all[i] else
        kept[#kept + 1] = all[i]
        kept[#kept + 1] = string.format('%d', count - least)
      end
    end
    for k = 1, #gone, 1000 do redis.call('HDEL', key, unpack(gone, k, math.min(k + 999, #gone))) end
    for k = 1, #kept, 1000 do redis.call('HSET', key, unpack(kept, k, math.min(k + 999, #kept))) end
    n = n - least
    if n == 0 then return 0 end
  end
  redis.call('HSET', key, value, n)
  return n
end
