-- Shared by every script: the clock, the generation and where a block lives.
local BASE = C.LIMB_BASE
local LIMBS = C.LIMB_COUNT
local SIZES = C.LEVEL_SIZES
local COARSEST = SIZES[#SIZES]
local FIELDS = C.BLOCK_FIELDS
-- A block's fields: c, the limbs, then n (the min's text) and x (the max's text).
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
  return now, root .. int(gen) .. ':', clock
end

-- The field names of a block by its prefix: c, the limbs 1…5, n, x. Made once per prefix.
local NAMES = {}
local function namesOf(prefix)
  local names = NAMES[prefix]
  if names == nil then
    names = {}
    for i, field in ipairs(FIELDS) do names[i] = prefix .. field end
    NAMES[prefix] = names
  end
  return names
end

-- The prefix of the fields of a block held in the hash of the next level's block, by its digit.
local DIGITS = C.DIGIT_PREFIXES
-- The names of the hashes met under the first prefix met (the window's own), per kind: a record
-- meets each many times, and formatting a number into a string is among the costliest things a
-- script does. Other prefixes (values) are met a few times each: their names are built each time.
local HASHES = {}
local cached
local function hashOf(window, kind, number)
  cached = cached or window
  if window ~= cached then return window .. kind .. int(number) end
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

-- The hash holding a block of a level (1-based), and the prefix of the block's fields there.
local function place(window, level, block)
  if level == 1 then return hashOf(window, 't:', math.floor(block / 10)), DIGITS[block % 10] end
  if level == 2 then return hashOf(window, 't:', block), '' end
  if level == 3 then return hashOf(window, 's:', math.floor(block / 10)), DIGITS[block % 10] end
  return hashOf(window, 's:', block), ''
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
