-- Idempotency keys (src/core/idempotency.ts). A key is remembered as one string,
-- "<instant it is forgotten>:<fingerprint>:<outcome letters>", expiring after the retention.
-- The bytes they are charged are kept in a ring of CHARGE_SPANS + 2 spans of retention /
-- CHARGE_SPANS each, tagged like the core's slots ("<i>t" the span's number, "<i>b" its bytes),
-- so the ring never needs sweeping: a span is live while a key remembered in it may be. One ring
-- for all the keys of the shard, held to the budget, and one per client, held to its share: they
-- expire with their keys. A call judges all its keys first (admit) and writes only if it records
-- (remember, saveCharges).
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
local function waitIn(ledger, limit, cost)
  local spans = liveCharges(ledger)
  local used = 0
  for _, charge in ipairs(spans) do used = used + charge[2] end
  local free = limit - used
  if free >= cost then return 0 end
  for _, charge in ipairs(spans) do
    free = free + charge[2]
    if free >= cost then return (charge[1] + 1) * spanMs + retention - now end
  end
  return retention
end

-- Charges cost bytes to a client's ledger and the shard's, in this call's reading of them.
local function charge(client, cost)
  for _, ledger in ipairs({root .. 'once-bytes', root .. 'once-bytes:' .. client}) do
    local spans = liveCharges(ledger)
    local latest = spans[#spans]
    latest[2] = latest[2] + cost
    latest.changed = true
  end
end

-- Writes the spans charged by this call.
local function saveCharges()
  for ledger, spans in pairs(ledgers) do
    local latest = spans[#spans]
    if latest.changed then
      local slot = latest[1] % RING
      redis.call('HSET', ledger, slot .. 't', int(latest[1]), slot .. 'b', int(latest[2]))
      redis.call('PEXPIRE', ledger, retention + 2 * spanMs)
    end
  end
end

-- Whether a keyed request may be recorded now: 'n' (it is charged, in this call's reading), or
-- 'r' with the letters remembered for it, 'm' when the key was used with another request, 'b'
-- with the ms until the budget has room.
local function admitKey(key, fingerprint, client, n)
  local remembered = redis.call('GET', root .. 'once:' .. key)
  local forgetAt, said, past
  if remembered then forgetAt, said, past = string.match(remembered, '^(%d+):([^:]*):(.*)$') end
  if forgetAt and tonumber(forgetAt) > now then
    if said == fingerprint then return 'r', past end
    return 'm'
  end
  local cost = C.ENTRY_OVERHEAD_BYTES + #key + #fingerprint + n
  local wait = math.max(waitIn(root .. 'once-bytes', budget, cost),
    waitIn(root .. 'once-bytes:' .. client, clientShare, cost))
  if wait > 0 then return 'b', nil, wait end
  charge(client, cost)
  return 'n'
end

-- Remembers what a keyed request recorded, for the retention.
local function remember(key, fingerprint, letters, clock)
  redis.call('SET', root .. 'once:' .. key, int(now + retention) .. ':' .. fingerprint .. ':' .. letters,
    'PX', math.max(now + retention - clock, 1) + MARGIN)
end
