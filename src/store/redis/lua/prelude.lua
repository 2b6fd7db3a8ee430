-- Shared by every script: the clock, the generation and where a block lives.
local BASE = C.LIMB_BASE
local LIMBS = C.LIMB_COUNT
local SIZES = C.LEVEL_SIZES
local COARSEST = SIZES[#SIZES]
-- A block as Lua holds it: {count, the limbs 1…LIMBS, the min, the max}.
local MIN = LIMBS + 2
local MAX = LIMBS + 3
local meta = KEYS[1]
local root = ARGV[1]
local at = ARGV[2]
local windowMs = tonumber(ARGV[3])

local function int(value)
  return string.format('%d', value)
end

-- Redis's clock, in ms, unless the caller injected one (tests).
local function reading()
  if at ~= '' then return tonumber(at) end
  local time = redis.call('TIME')
  return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end

-- Twin of RollingWindow.now() (src/core/window.ts).
-- The window's instant, held monotonic as in the core: a step back of less than the window
-- waits at the latest instant; a step of the whole window or more starts a new generation.
-- floor: an instant another shard has shown, so that shards move together; ignored when it is a
-- whole window or more ahead of the clock (it was shown before the clock stepped back).
local function advance()
  local floor = tonumber(ARGV[4])
  local state = redis.call('HMGET', meta, 'latest', 'gen')
  local latest = tonumber(state[1])
  local gen = tonumber(state[2]) or 0
  local clock = reading()
  local now = clock
  if floor ~= nil and floor > now and clock > floor - windowMs then now = floor end
  if latest ~= nil and now <= latest - windowMs then
    gen = gen + 1
    redis.call('HSET', meta, 'latest', int(now), 'gen', int(gen))
  elseif latest ~= nil and latest >= now then
    now = latest
  else
    redis.call('HSET', meta, 'latest', int(now))
  end
  return now, root .. int(gen) .. ':', clock, gen
end

-- The window's blocks are kept in partitions, one per writer (an instance's process, on this
-- shard), each written only by its writer: the prefix of a partition's hashes, the key counting
-- its writes, and the sorted set of the partitions by the instant each last wrote at.
local function partitionPrefix(window, id) return window .. 'part:' .. id .. ':' end
local function partitionSeqKey(window, id) return window .. 'part:' .. id end
local function partitionsKey(window) return window .. 'parts' end

-- A block is stored as one field: its count, its limbs, its min and its max, each a double
-- (C.BLOCK_FORMAT; packBlock in layout.ts is the twin of formatBlock), read and written by one
-- call of Lua's struct library. One field per block keeps a hash at eleven fields, and Redis
-- finds a field of a compact hash by scanning it: fewer fields are faster reads and writes.

-- The block a field holds, as {count, the limbs, min, max}, or nil for none.
local function parseBlock(packed)
  if not packed then return nil end
  local block = {struct.unpack(C.BLOCK_FORMAT, packed)}
  block[MAX + 1] = nil -- struct.unpack's last value is where it stopped
  return block
end

local function formatBlock(block)
  return struct.pack(C.BLOCK_FORMAT, unpack(block))
end

-- A min or max as a script answers it: the shortest text that is the same double, up to 17
-- significant digits.
local function amountText(amount)
  return string.format('%.17g', amount)
end

-- The field of a hash that holds the hash's own block, and those of the blocks of the level
-- below, by their digit.
local OWN = C.OWN_FIELD
local DIGITS = C.DIGIT_FIELDS

-- The names of the hashes met under the first prefix met (the window's own), per kind: a record
-- meets each many times, and formatting a number into a string is among the costliest things a
-- script does. Other prefixes (values) are met a few times each: their names are built each time,
-- of the block's number formatted once (values share blocks).
local HASHES = {}
local TEXTS
local cached
local function hashOf(window, kind, number)
  cached = cached or window
  if window ~= cached then
    TEXTS = TEXTS or {}
    local text = TEXTS[number]
    if text == nil then
      text = int(number)
      TEXTS[number] = text
    end
    return window .. kind .. text
  end
  local names = HASHES[kind]
  if names == nil then
    names = {}
    HASHES[kind] = names
  end
  local name = names[number]
  if name == nil then
    name = window .. kind .. int(number)
    names[number] = name
  end
  return name
end

-- The hash holding a block of a level (1-based), and the block's field there. Twin of blockPlace
-- (layout.ts).
local TENS, SECONDS = C.TENS_HASH, C.SECONDS_HASH
local function place(window, level, block)
  if level == 1 then return hashOf(window, TENS, math.floor(block / 10)), DIGITS[block % 10] end
  if level == 2 then return hashOf(window, TENS, block), OWN end
  if level == 3 then return hashOf(window, SECONDS, math.floor(block / 10)), DIGITS[block % 10] end
  return hashOf(window, SECONDS, block), OWN
end

-- Calls visit(level, block) for each block covering [from, to], the coarsest aligned ones that
-- fit: the core's decomposition (RollingWindow.#aggregate).
local function eachBlock(from, to, visit)
  local base = math.floor(from / COARSEST) * COARSEST
  local last = to - base
  local offset = from - base
  while offset <= last do
    local level = 1
    for candidate = #SIZES, 2, -1 do
      local size = SIZES[candidate]
      if offset % size == 0 and offset + size - 1 <= last then
        level = candidate
        break
      end
    end
    local size = SIZES[level]
    visit(level, (base + offset) / size)
    offset = offset + size
  end
end
