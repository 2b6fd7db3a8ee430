/**
 * The window in Redis, as Lua scripts run atomically by Redis. The layout mirrors the core's
 * levels of aligned blocks (1 ms, 10 ms, 100 ms, 1 s):
 *
 *   <root>meta                      latest (the window's monotonic now), gen (the generation)
 *   <root><gen>:t:<10 ms block>     its own block's fields, and its ten 1 ms blocks' as "<digit>:"
 *   <root><gen>:s:<second>          its own block's fields, and its ten 100 ms blocks' as "<digit>:"
 *   <root><gen>:q<level>:<block>    a block's quantile sketch: mapping index → count (see SKETCHES)
 *   <root><gen>:qz<level>, <gen>:q   the blocks of a level with a sketch; the sketches' state
 *   <root><gen>:v<d>:<value>:t:…, …s:…   a value of dimension d (1-based): the window's own layout
 *   <root><gen>:o<d>:…, <gen>:m<d>:…  the same for d's overflow and for its missing values
 *   <root><gen>:d<d>, <gen>:p<d>      d's tracked values by newest timestamp; when each may be
 *                                     partial, and under '' the newest timestamp of the overflow
 *   <root><gen>:w<d>                  per value of d, the sum of its whole seconds of a range
 *                                     (see BREAKDOWN)
 *
 * A block's fields: c (count), 0…4 (the exact sum's base-10^9 limbs, as in src/core/amount.ts;
 * absent until they are not zero), n and x (the min and the max, each the amount's own shortest
 * decimal).
 * Every key of a window starts with <root>, which holds one hash tag, so a window lives in one
 * cluster slot and a script may name its keys itself. Two hashes per transaction, each at most
 * 11 × 8 small fields: Redis keeps them as compact listpacks.
 *
 * Exactness: Lua numbers are doubles, so no script does arithmetic on amounts. The only Lua
 * arithmetic is on counts, limbs and times, integers far below 2^53, where doubles are exact: each
 * limb but the top is carried into (-10^9, 10^9), the top one grows by at most 1 001 a
 * transaction, and a snapshot adds at most 54 + ⌈windowMs / 1000⌉ blocks (354 for the largest window). Redis writes such numbers back as their
 * exact digits (HSET of a Lua number formats it with 17 significant digits). The min and max
 * are compared with tonumber of the stored text, the correctly rounded double that is the amount
 * itself, and returned as that text. Limbs are joined and rounded in Node (writeSumAndMean),
 * so both stores round identically.
 *
 * The shape of the window (the levels, the limbs) is the core's: the constants below are
 * interpolated from src/core/levels.ts and src/core/amount.ts, never copied. The Lua functions
 * that walk the blocks (aggregate) and move the clock (advance) are twins of RollingWindow's
 * #aggregate and now(): a change to one is a change to the other.
 */

import { LIMB_BASE, LIMB_COUNT } from '../../core/amount/amount.js'
import { LEVELS } from '../../core/blocks/levels.js'
import {
  CHARGE_SPANS,
  ENTRY_OVERHEAD_BYTES,
  OUTCOME_LETTERS as L,
} from '../../core/idempotency/idempotency.js'
import { SKETCH_BYTES, SKETCH_ENTRY_BYTES } from '../../core/quantiles/block-sketches.js'

// The key layout pairs the levels: each odd level's blocks live, as "<digit>:" fields, in the
// hash of the next level's block that holds them. That needs four levels, each ten times the last.
if (
  LEVELS.length !== 4 ||
  LEVELS.some((size, i) => i > 0 && size !== (LEVELS[i - 1] as number) * 10)
) {
  throw new Error('the Redis key layout needs four block levels, each ten times the one before')
}

const FIELDS = ['c', ...Array.from({ length: LIMB_COUNT }, (_, i) => String(i)), 'n', 'x']

/** Shared by every script: the clock, the generation and where a block lives. */
const PRELUDE = `
local BASE = ${LIMB_BASE}
local LIMBS = ${LIMB_COUNT}
local SIZES = {${LEVELS.join(', ')}}
local COARSEST = SIZES[#SIZES]
local FIELDS = {${FIELDS.map((field) => `'${field}'`).join(', ')}}
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
local DIGITS = {[0] = ${Array.from({ length: 10 }, (_, digit) => `'${digit}:'`).join(', ')}}
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
`

/**
 * Quantile sketches (twin of BlockSketches, src/core/block-sketches.ts): per level and block, a
 * hash <window>q<level>:<block> of mapping index → count, the indices computed in Node. Per
 * level, a sorted set <window>qz<level> of the blocks that have a hash, so that freeing the old
 * ones touches only those. The state <window>q: k<level>, the first block of the level that may
 * hold a sketch; b, the bytes charged, as the core charges them. <window>qs: the sum of the
 * whole-second sketches held, as the core keeps it.
 */
const SKETCHES = `
local SKETCH_BYTES = ${SKETCH_BYTES}
local ENTRY_BYTES = ${SKETCH_ENTRY_BYTES}
local STATE_FIELDS = {}
for level = 1, #SIZES do STATE_FIELDS[level] = 'k' .. level end
STATE_FIELDS[#SIZES + 1] = 'b'

local SKETCH_KINDS = {${LEVELS.map((_, level) => `'q${level + 1}:'`).join(', ')}}
local function sketchKey(s, level, block)
  return hashOf(s.window, SKETCH_KINDS[level], block)
end

-- The sum of every whole-second sketch held (BlockSketches.#seconds): index -> count.
local function secondsKey(s)
  return s.window .. 'qs'
end

local function freeBlock(s, level, block)
  local key = sketchKey(s, level, block)
  local n
  if level == #SIZES then
    local all = redis.call('HGETALL', key)
    n = #all / 2
    for i = 1, #all, 2 do
      if redis.call('HINCRBY', secondsKey(s), all[i], -tonumber(all[i + 1])) == 0 then
        redis.call('HDEL', secondsKey(s), all[i])
      end
    end
  else
    n = redis.call('HLEN', key)
  end
  if n > 0 then
    s.bytes = s.bytes - SKETCH_BYTES - n * ENTRY_BYTES
    redis.call('DEL', key)
  end
end

-- Twin of BlockSketches.forgetBefore: frees every block before the one holding oldestMs.
local function forgetBefore(s, oldestMs)
  for level = 1, #SIZES do
    local first = math.floor(oldestMs / SIZES[level])
    local kept = s.kept[level]
    if kept == nil or first > kept then
      local zset = s.window .. 'qz' .. level
      local blocks = redis.call('ZRANGEBYSCORE', zset, '-inf', '(' .. int(first))
      for _, block in ipairs(blocks) do freeBlock(s, level, tonumber(block)) end
      if #blocks > 0 then redis.call('ZREMRANGEBYSCORE', zset, '-inf', '(' .. int(first)) end
      s.kept[level] = first
      s.changed = true
      -- Every transaction is in a block of the coarsest level, which is never freed early: when
      -- none is left, nothing is, and nothing is charged (a hash that expired while its service
      -- was idle is charged no more).
      if level == #SIZES and redis.call('ZCARD', zset) == 0 then
        s.bytes = 0
        redis.call('DEL', secondsKey(s))
      end
    end
  end
end

-- The state of the sketches of a window, read once per call, its old blocks freed.
local function openSketches(window, now, skewMs, clock, ttlFloor)
  local values = redis.call('HMGET', window .. 'q', unpack(STATE_FIELDS))
  local s = {window = window, kept = {}, bytes = tonumber(values[#SIZES + 1]) or 0,
    pending = {}, order = {}, now = now, newest = now + skewMs, clock = clock,
    ttlFloor = ttlFloor, changed = false}
  for level = 1, #SIZES do s.kept[level] = tonumber(values[level]) end
  forgetBefore(s, now - windowMs + 1)
  return s
end

-- Twin of BlockSketches.#evict: frees the oldest kept blocks of the finest levels first.
local function evict(s, budget)
  for level = 1, #SIZES - 1 do
    local newest = math.floor(s.newest / SIZES[level])
    local zset = s.window .. 'qz' .. level
    local kept = s.kept[level]
    while s.bytes > budget and kept <= newest do
      local block = redis.call('ZRANGEBYSCORE', zset, int(kept), int(newest), 'LIMIT', 0, 1)[1]
      if block == nil then
        kept = newest + 1
      else
        freeBlock(s, level, tonumber(block))
        redis.call('ZREM', zset, block)
        kept = tonumber(block) + 1
      end
    end
    s.kept[level] = kept
    s.changed = true
    if s.bytes <= budget then return end
  end
end

-- Adds the p (index, count) pairs at ARGV[first] to what this call adds to the hash at key, in
-- Lua: writeSketches writes each hash once, so a call costs Redis a few commands per block it
-- touches, not one per index. block is nil for the sum of the whole seconds, which is no block.
local function addPairs(s, key, level, block, first, p)
  local pending = s.pending[key]
  if pending == nil then
    pending = {level = level, block = block, counts = {}, indices = {}}
    s.pending[key] = pending
    s.order[#s.order + 1] = key
  end
  local counts, indices = pending.counts, pending.indices
  for j = first, first + 2 * p - 2, 2 do
    local index = ARGV[j]
    local before = counts[index]
    if before == nil then
      indices[#indices + 1] = index
      before = 0
    end
    counts[index] = before + tonumber(ARGV[j + 1])
  end
end

-- Adds p pairs to the sketch of a block, unless it was freed, and a second's to their sum.
local function addToSketch(s, level, block, first, p)
  if block < s.kept[level] then return end
  addPairs(s, sketchKey(s, level, block), level, block, first, p)
  if level == #SIZES then addPairs(s, secondsKey(s), nil, nil, first, p) end
end

-- Writes what the call added: per hash, one HMGET of its indices and one HSET of their counts
-- (in chunks that unpack can take), or one HINCRBY for a single index, charging each index new to
-- a block. A hash lives, unless freed first, until twice the window and the skew after its block
-- ends: freed by then whenever the window is in use (see forgetBefore). Then frees the oldest
-- blocks while over the budget.
local CHUNK = 1000
-- A count as Redis stores it. Counts repeat (most are small), and Lua formats a number into a
-- string at a cost far above a table lookup: each is formatted once per call.
local COUNT_TEXTS = {}
local function countText(count)
  local text = COUNT_TEXTS[count]
  if text == nil then
    text = int(count)
    COUNT_TEXTS[count] = text
  end
  return text
end
local function writeSketches(s, budget)
  for _, key in ipairs(s.order) do
    local pending = s.pending[key]
    local indices, counts = pending.indices, pending.counts
    -- A block holding any of the indices already has its hash, and its place in the level's set.
    local held = false
    if #indices == 1 then
      -- One index: one command instead of two.
      local index = indices[1]
      local count = counts[index]
      if redis.call('HINCRBY', key, index, count) ~= count then
        held = true
      elseif pending.block then
        s.bytes = s.bytes + ENTRY_BYTES
      end
    else
      for k = 1, #indices, CHUNK do
        local chunk = {unpack(indices, k, math.min(k + CHUNK - 1, #indices))}
        local values = redis.call('HMGET', key, unpack(chunk))
        local updates = {}
        for m, index in ipairs(chunk) do
          local before = tonumber(values[m])
          if before ~= nil then
            held = true
          else
            before = 0
            if pending.block then s.bytes = s.bytes + ENTRY_BYTES end
          end
          updates[#updates + 1] = index
          updates[#updates + 1] = countText(before + counts[index])
        end
        redis.call('HSET', key, unpack(updates))
      end
    end
    local level, block = pending.level, pending.block
    local zset = block and s.window .. 'qz' .. level
    if block and not held and redis.call('ZADD', zset, block, int(block)) == 1 then
      s.bytes = s.bytes + SKETCH_BYTES
      local last = (block + 1) * SIZES[level] - 1
      local ttl = last + 2 * (windowMs + s.newest - s.now) + MARGIN - s.clock
      redis.call('PEXPIRE', key, math.max(ttl, s.ttlFloor))
    end
    s.changed = true
  end
  if s.bytes > budget then evict(s, budget) end
end

local function saveSketches(s)
  if not s.changed then return end
  local fields = {}
  for level = 1, #SIZES do
    fields[#fields + 1] = STATE_FIELDS[level]
    fields[#fields + 1] = int(s.kept[level])
  end
  fields[#fields + 1] = 'b'
  fields[#fields + 1] = int(s.bytes)
  redis.call('HSET', s.window .. 'q', unpack(fields))
  local ttl = math.max(2 * (windowMs + s.newest - s.now) + MARGIN, s.ttlFloor)
  redis.call('PEXPIRE', s.window .. 'q', ttl)
  for level = 1, #SIZES do redis.call('PEXPIRE', s.window .. 'qz' .. level, ttl) end
  redis.call('PEXPIRE', secondsKey(s), ttl)
end

-- Twin of BlockSketches.merge: the (index, count) pairs of [from, to], an edge cut at a coarser
-- level where the finer one was freed. Returns the interval read, the edge and the pairs. A long
-- interval starts from the sum of the whole seconds and takes out those outside it.
local function mergeSketches(s, from, to)
  local lo, hi, edge = from, to, 1
  for level = 1, #SIZES - 1 do
    local size, next = SIZES[level], SIZES[level + 1]
    local kept = s.kept[level]
    if lo % next ~= 0 and math.floor(lo / size) < kept then
      lo = math.floor(lo / next) * next
      edge = next
    end
    local start = math.floor((hi + 1) / next) * next
    if (hi + 1) % next ~= 0 and start >= lo and start / size < kept then
      hi = start + next - 1
      edge = next
    end
  end
  local counts = {}
  local function addAll(key, sign)
    local all = redis.call('HGETALL', key)
    for i = 1, #all, 2 do counts[all[i]] = (counts[all[i]] or 0) + sign * tonumber(all[i + 1]) end
  end
  local function addBlocks(from, to)
    eachBlock(from, to, function(level, block) addAll(sketchKey(s, level, block), 1) end)
  end
  local top = #SIZES
  local second = SIZES[top]
  local firstWhole = math.ceil(lo / second)
  local lastWhole = math.floor((hi + 1) / second) - 1
  local oldest = s.kept[top]
  local newest = math.floor(s.newest / second)
  local outside = math.max(0, firstWhole - oldest) + math.max(0, newest - lastWhole)
  if lastWhole - firstWhole + 1 <= outside then
    addBlocks(lo, hi)
  else
    addAll(secondsKey(s), 1)
    for block = oldest, firstWhole - 1 do addAll(sketchKey(s, top, block), -1) end
    for block = lastWhole + 1, newest do addAll(sketchKey(s, top, block), -1) end
    if lo < firstWhole * second then addBlocks(lo, firstWhole * second - 1) end
    if hi > lastWhole * second + second - 1 then addBlocks((lastWhole + 1) * second, hi) end
  end
  local flat = {}
  for index, count in pairs(counts) do
    if count ~= 0 then
      flat[#flat + 1] = index
      flat[#flat + 1] = count
    end
  end
  return lo, hi, edge, flat
end
`

/**
 * Dimensions (twin of ValueWindows, src/core/value-windows.ts): each value of a dimension has the
 * window's layout under its own prefix, as have the dimension's overflow and its missing values.
 * The tracked values are a sorted set by newest timestamp, so that those whose transactions have
 * all left are found, and released, without a scan.
 */
const DIMENSION_KEYS = `
local function valuePrefix(window, d, value) return window .. 'v' .. d .. ':' .. value .. ':' end
local function overflowPrefix(window, d) return window .. 'o' .. d .. ':' end
local function missingPrefix(window, d) return window .. 'm' .. d .. ':' end
local function trackedKey(window, d) return window .. 'd' .. d end
local function partialKey(window, d) return window .. 'p' .. d end
local function wholeKey(window, d) return window .. 'w' .. d end
`

/** Arguments per value of a delta: value, first, count, the limbs, min text, max text. */
const GROUP_WIDTH = LIMB_COUNT + 5

/** What a store keeps besides the window, and so which parts its record script holds. */
export interface ScriptFeatures {
  /** Quantile sketches (SKETCHES). */
  sketches: boolean
  /** Dimensions' values (RECORD_DIMENSIONS). */
  dimensions: boolean
}

// A part a store does not keep is left out of its record script, its functions declared and never
// called (the arguments say it is off): a script builds all its functions at every call, and those
// of a part left out would cost every call for nothing.
const SKETCHES_OFF = 'local openSketches, addToSketch, writeSketches, saveSketches'
const DIMENSIONS_OFF = `local trackedKey, partialKey, wholeKey, trackValues, addValues, saveNewest
local dimensionsTouched = false`

/** The record's part for dimensions: each value's window, tracked values, their newest instants. */
const RECORD_DIMENSIONS = `${DIMENSION_KEYS}
-- Adds the aggregate at ARGV[at] to the blocks of a timestamp at every level under a prefix (a
-- value's): the 1 ms and 10 ms blocks in the 10 ms hash, the 100 ms and 1 s blocks in the
-- second's (see place).
local function addToBlocks(prefix, timestamp, at)
  local tens, tenPrefix = place(prefix, 1, timestamp)
  local hash = open(tens, math.floor(timestamp / SIZES[2]) * SIZES[2] + SIZES[2] - 1, true)
  add(hash, tenPrefix, at)
  add(hash, '', at)
  local second, secondPrefix = place(prefix, 3, math.floor(timestamp / SIZES[3]))
  hash = open(second, math.floor(timestamp / COARSEST) * COARSEST + COARSEST - 1, true)
  add(hash, secondPrefix, at)
  add(hash, '', at)
end

local dimensionsTouched = false

-- Releases a dimension's values whose newest transaction has left the window, then tracks the
-- new values of the stored deltas, in the order they first appear among the transactions, while
-- fewer than maxValues are tracked. Returns the set of values tracked. Twin of ValueWindows.
local function trackValues(stored, dim)
  local zset = trackedKey(window, dim)
  local partial = partialKey(window, dim)
  local gone = redis.call('ZRANGEBYSCORE', zset, '-inf', int(now - windowMs))
  if #gone > 0 then
    redis.call('ZREMRANGEBYSCORE', zset, '-inf', int(now - windowMs))
    for k = 1, #gone, 1000 do
      redis.call('HDEL', partial, unpack(gone, k, math.min(k + 999, #gone)))
      redis.call('HDEL', wholeKey(window, dim), unpack(gone, k, math.min(k + 999, #gone)))
    end
  end
  local firstSeen = {}
  local order = {}
  for _, delta in ipairs(stored) do
    local at = delta.dims[dim]
    for k = 0, tonumber(ARGV[at]) - 1 do
      local j = at + 1 + k * GROUP
      local value = ARGV[j]
      if value ~= '' then
        local position = tonumber(ARGV[j + 1])
        local seen = firstSeen[value]
        if seen == nil then order[#order + 1] = value end
        if seen == nil or position < seen then firstSeen[value] = position end
      end
    end
  end
  local tracked = {}
  local new = {}
  for _, value in ipairs(order) do
    if redis.call('ZSCORE', zset, value) then tracked[value] = true else new[#new + 1] = value end
  end
  table.sort(new, function(a, b) return firstSeen[a] < firstSeen[b] end)
  local count = redis.call('ZCARD', zset)
  local overflowNewest = redis.call('HGET', partial, '')
  for _, value in ipairs(new) do
    if count >= maxValues then break end
    count = count + 1
    tracked[value] = true
    -- Its score becomes its newest timestamp as its transactions are added.
    redis.call('ZADD', zset, 0, value)
    -- Transactions of it may be in the overflow from before: its answers say so until they left.
    if overflowNewest then redis.call('HSET', partial, value, overflowNewest) end
  end
  return tracked
end

-- Per dimension, the newest timestamp of each tracked value this call adds to (written once per
-- value by saveNewest), and under '' the newest it puts in the overflow.
local newest = {}
-- The (dimension, value) pairs whose sums of whole seconds this call may have changed.
local stale = {}

-- Adds a stored delta's values to their windows, the overflow or the missing.
local function addValues(delta, timestamp, tracked)
  for dim = 1, dimensionCount do
    local at = delta.dims[dim]
    local latest = newest[dim]
    if latest == nil then
      latest = {}
      newest[dim] = latest
    end
    for k = 0, tonumber(ARGV[at]) - 1 do
      local j = at + 1 + k * GROUP
      local value = ARGV[j]
      local prefix
      local key = value
      if value == '' then
        prefix = missingPrefix(window, dim)
        key = nil
      elseif tracked[dim][value] then
        prefix = valuePrefix(window, dim, value)
        -- A second before the current one may be in a breakdown's sum of whole seconds.
        if math.floor(timestamp / COARSEST) < math.floor(now / COARSEST) then
          stale[#stale + 1] = {dim, value}
        end
      else
        prefix = overflowPrefix(window, dim)
        key = ''
      end
      if key ~= nil and (latest[key] == nil or timestamp > latest[key]) then latest[key] = timestamp end
      addToBlocks(prefix, timestamp, j + 2)
    end
  end
  dimensionsTouched = true
end

-- Writes the newest timestamps addValues gathered, once per value: before the next group of the
-- call tracks or releases values, so that it sees them.
local function saveNewest()
  for dim, latest in pairs(newest) do
    for value, timestamp in pairs(latest) do
      if value == '' then
        local before = tonumber(redis.call('HGET', partialKey(window, dim), ''))
        if before == nil or timestamp > before then
          redis.call('HSET', partialKey(window, dim), '', int(timestamp))
        end
      else
        redis.call('ZADD', trackedKey(window, dim), 'GT', timestamp, value)
      end
    end
  end
  newest = {}
  for _, pair in ipairs(stale) do redis.call('HDEL', wholeKey(window, pair[1]), pair[2]) end
  stale = {}
end
`

/**
 * The record script of a store keeping these features. KEYS: meta. ARGV: root, at, windowMs,
 * floor, clockSkewMs, ttlFloorMs, idempotency retention (ms), idempotency budget (bytes), quantile
 * budget (bytes; '' keeps no sketches), the number of dimensions, the values each tracks at most,
 * the idempotency budget's share per client (bytes), then groups: an idempotency key ('' for
 * none), a fingerprint, its client, its number of transactions, its number of deltas d, the
 * number of arguments its deltas take, then the d deltas (see recordAll).
 * Returns the instant, one letter per delta (OUTCOME_LETTERS, or x for a group refused), one state
 * per group, and for a group refused because the budget is spent, the ms until it has room.
 */
export function recordScript(features: ScriptFeatures): string {
  return `#!lua
${PRELUDE}
local skewMs = tonumber(ARGV[5])
local ttlFloor = tonumber(ARGV[6])
local MARGIN = 1000
local sketchBudget = tonumber(ARGV[9])
local dimensionCount = tonumber(ARGV[10])
local maxValues = tonumber(ARGV[11])
local GROUP = ${GROUP_WIDTH}
${features.sketches ? SKETCHES : SKETCHES_OFF}

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

-- The hash at key, read whole the first time unless the group reads by name (see readBlock) and
-- whole is not set: a value's hashes hold few blocks, and cost less read whole. It lives until
-- last, when its own block ends (see flush).
local function open(key, last, whole)
  local hash = hashes[key]
  if hash == nil then
    hash = {key = key, values = {}, changed = {}, last = last}
    hashes[key] = hash
    touched[#touched + 1] = key
    if byName and not whole then
      hash.read = {}
    else
      local all = redis.call('HGETALL', key)
      for i = 1, #all, 2 do hash.values[all[i]] = all[i + 1] end
      hash.new = hash.values['c'] == nil
    end
  end
  return hash
end

-- Reads the fields of the block with that prefix by name, and with the first, those of the
-- hash's own block, whose count says whether the hash is new.
local function readBlock(hash, prefix)
  local read = hash.read
  local names = namesOf(prefix)
  if read[''] == nil and prefix ~= '' then
    local both = {unpack(namesOf(''))}
    for _, name in ipairs(names) do both[#both + 1] = name end
    names = both
    read[''] = true
  end
  read[prefix] = true
  local got = redis.call('HMGET', hash.key, unpack(names))
  local values = hash.values
  for i = 1, #names do
    if got[i] then values[names[i]] = got[i] end
  end
  if hash.new == nil then hash.new = values['c'] == nil end
end

-- Adds the aggregate at ARGV[at] to the block with that prefix. Exact: counts and limbs are
-- integers far below 2^53, each limb but the top carried into (-10^9, 10^9) (the aggregate's
-- limbs come carried the same way, so one carry per limb suffices). A limb of 0 with no carry
-- changes nothing and is not parsed: tonumber costs about as much as Redis finding a field.
local function add(hash, prefix, at)
  if hash.read and not hash.read[prefix] then readBlock(hash, prefix) end
  local names = namesOf(prefix)
  local values = hash.values
  local changed = hash.changed
  local before = tonumber(values[names[1]]) or 0
  values[names[1]] = before + tonumber(ARGV[at])
  changed[names[1]] = true
  local carry = 0
  for i = 1, LIMBS do
    local delta = ARGV[at + i]
    if delta ~= '0' or carry ~= 0 then
      local name = names[i + 1]
      local current = tonumber(values[name]) or 0
      local limb = current + tonumber(delta) + carry
      carry = 0
      if i < LIMBS and limb >= BASE then
        limb, carry = limb - BASE, 1
      elseif i < LIMBS and limb <= -BASE then
        limb, carry = limb + BASE, -1
      end
      if limb ~= current then
        values[name] = limb
        changed[name] = true
      end
    end
  end
  local lowText, highText = ARGV[at + LIMBS + 1], ARGV[at + LIMBS + 2]
  if before == 0 or tonumber(lowText) < tonumber(values[names[MIN]]) then
    values[names[MIN]] = lowText
    changed[names[MIN]] = true
  end
  if before == 0 or tonumber(highText) > tonumber(values[names[MAX]]) then
    values[names[MAX]] = highText
    changed[names[MAX]] = true
  end
end

-- Adds the aggregate at ARGV[at] to one block of a level (1-based) under a prefix: the window's
-- own, or a value's. The hash that holds it lives until the block of its own level (10 ms, or
-- 1 s) has left.
local function addToLevel(prefix, level, block, at)
  local key, fieldPrefix = place(prefix, level, block)
  local own = level % 2 == 0 and block or math.floor(block / 10)
  local size = SIZES[level % 2 == 0 and level or level + 1]
  add(open(key, own * size + size - 1), fieldPrefix, at)
end

-- One write per hash. A new hash expires once its own block, which ends at last, has left the
-- window, by Redis's clock: never before the window's instant, which is held at or ahead of it.
local OWN = namesOf('')
local function flush(clock)
  for _, key in ipairs(touched) do
    local hash = hashes[key]
    -- The hash's own block first: a new hash then holds its fields at the head of its encoding,
    -- where a read by name (every snapshot reads own blocks) finds them soonest.
    local updates = {}
    local changed = hash.changed
    for _, name in ipairs(OWN) do
      if changed[name] then
        updates[#updates + 1] = name
        updates[#updates + 1] = hash.values[name]
        changed[name] = nil
      end
    end
    for name in pairs(changed) do
      updates[#updates + 1] = name
      updates[#updates + 1] = hash.values[name]
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

${features.dimensions ? RECORD_DIMENSIONS : DIMENSIONS_OFF}

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
      outcomes[#outcomes + 1] = '${L.tooOld}'
    elseif timestamp > now + skewMs then
      outcomes[#outcomes + 1] = '${L.tooFarInFuture}'
    elseif lowText == '' then
      outcomes[#outcomes + 1] = '${L.invalidAmount}'
    else
      stored[#stored + 1] = {at = i, timestamp = timestamp, pairsAt = pairsAt, p = p, dims = dims}
      outcomes[#outcomes + 1] = '${L.stored}'
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
-- The bytes they are charged are kept in a ring of ${CHARGE_SPANS + 2} spans of retention / ${CHARGE_SPANS} each, tagged
-- like the core's slots ("<i>t" the span's number, "<i>b" its bytes), so the ring never needs
-- sweeping: a span is live while a key remembered in it may be. One ring for all the keys of the
-- shard, held to the budget, and one per client, held to its share: they expire with their keys.
local retention = tonumber(ARGV[7])
local budget = tonumber(ARGV[8])
local clientShare = tonumber(ARGV[12])
local SPANS = ${CHARGE_SPANS}
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
      local cost = ${ENTRY_OVERHEAD_BYTES} + #key + #fingerprint + n
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
if dimensionsTouched then
  -- A value is released once its newest transaction, at most the skew ahead, has left.
  local ttl = math.max(2 * (windowMs + skewMs) + MARGIN, ttlFloor)
  for dim = 1, dimensionCount do
    redis.call('PEXPIRE', trackedKey(window, dim), ttl)
    redis.call('PEXPIRE', partialKey(window, dim), ttl)
    redis.call('PEXPIRE', wholeKey(window, dim), ttl)
  end
end
return {now, table.concat(letters), table.concat(states), wait}
`
}

/** The statistics of [from, to]: the core's decomposition into the coarsest aligned blocks. */
const AGGREGATE = `
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
`

/**
 * KEYS: meta. ARGV: root, at, windowMs, floor ('' for none), queryWindowMs (the last queryWindowMs ms of the
 * window, at most windowMs), then only for quantiles the clock skew and the TTL floor.
 * Returns the instant, then the count, the five limb sums, the min's text and the max's text
 * ('' when empty) of those queryWindowMs ms; with quantiles then the edge (see mergeSketches), the min and
 * max texts of the interval the sketches were read over, and their (index, count) pairs.
 */
export const SNAPSHOT = `#!lua
${PRELUDE}
${AGGREGATE}
local MARGIN = 1000
${SKETCHES}
local now, window, clock = advance()
local from = now - tonumber(ARGV[5]) + 1
local result = aggregate(window, from, now)
table.insert(result, 1, now)
if ARGV[6] == nil then return result end
local sketches = openSketches(window, now, tonumber(ARGV[6]), clock, tonumber(ARGV[7]))
local lo, hi, edge, flat = mergeSketches(sketches, from, now)
saveSketches(sketches)
local wide = result
if edge > 1 then
  wide = aggregate(window, lo, hi)
  table.insert(wide, 1, now)
end
result[#result + 1] = edge
result[#result + 1] = wide[MIN + 1]
result[#result + 1] = wide[MAX + 1]
for _, value in ipairs(flat) do result[#result + 1] = value end
return result
`

/**
 * KEYS: meta. ARGV as SNAPSHOT. Returns the instant, then per second of the window, oldest first,
 * the second and the same eight values for its part of the window.
 */
export const SERIES = `#!lua
${PRELUDE}
${AGGREGATE}
local now, window = advance()
local first = now - tonumber(ARGV[5]) + 1
local result = {now}
for second = math.floor(first / COARSEST), math.floor(now / COARSEST) do
  local point = aggregate(window, math.max(first, second * COARSEST), math.min(now, second * COARSEST + COARSEST - 1))
  result[#result + 1] = second
  for _, value in ipairs(point) do result[#result + 1] = value end
end
return result
`

/** An empty aggregate, as aggregate returns it. */
const EMPTY_AGGREGATE = `
local function emptyAggregate()
  local result = {0}
  for i = 1, LIMBS do result[i + 1] = 0 end
  result[MIN] = ''
  result[MAX] = ''
  return result
end
`

/**
 * KEYS: meta. ARGV: root, at, windowMs, floor, queryWindowMs, dimension (1-based), value. Returns the
 * instant, the value's aggregate over the last queryWindowMs ms as SNAPSHOT's (zeros when it is not
 * tracked), and 1 when some of its transactions there may be in the overflow, else 0.
 */
export const VALUE = `#!lua
${PRELUDE}
${AGGREGATE}
${EMPTY_AGGREGATE}
${DIMENSION_KEYS}
local now, window = advance()
local from = now - tonumber(ARGV[5]) + 1
local dim, value = ARGV[6], ARGV[7]
local newest = tonumber(redis.call('ZSCORE', trackedKey(window, dim), value))
local result, partial
if newest and newest > now - windowMs then
  result = aggregate(valuePrefix(window, dim, value), from, now)
  partial = redis.call('HGET', partialKey(window, dim), value)
else
  result = emptyAggregate()
  partial = redis.call('HGET', partialKey(window, dim), '')
end
table.insert(result, 1, now)
result[#result + 1] = (partial and tonumber(partial) >= from) and 1 or 0
return result
`

/**
 * KEYS: meta. ARGV: root, at, windowMs, floor, queryWindowMs, dimension (1-based). Returns the instant,
 * the aggregates of the overflow and of the missing over the last queryWindowMs ms, 1 when the overflow
 * may hold transactions of values not tracked there (else 0), then for each tracked value with
 * transactions there or that may be incomplete: the value, 1 or 0 as VALUE's last, and its
 * aggregate.
 */
export const BREAKDOWN = `#!lua
${PRELUDE}
${AGGREGATE}
${DIMENSION_KEYS}
local now, window = advance()
local from = now - tonumber(ARGV[5]) + 1
local dim = ARGV[6]
local result = {now}
for _, prefix in ipairs({overflowPrefix(window, dim), missingPrefix(window, dim)}) do
  for _, field in ipairs(aggregate(prefix, from, now)) do result[#result + 1] = field end
end
local partials = {}
local all = redis.call('HGETALL', partialKey(window, dim))
for i = 1, #all, 2 do partials[all[i]] = tonumber(all[i + 1]) end
local function partial(key) return (partials[key] and partials[key] >= from) and 1 or 0 end
-- Whether values this shard does not track may have transactions in its overflow.
result[#result + 1] = partial('')
-- Per value, its whole seconds lo to hi are summed once while they stay the range (a record into
-- them drops the sum: see addValues), so a read at every millisecond adds two edges to it.
local lo = math.floor(from / COARSEST) + 1
local hi = math.floor(now / COARSEST) - 1
local range = int(lo) .. ',' .. int(hi) .. ','
local sums = {}
local written = false
if hi >= lo then
  local cached = redis.call('HGETALL', wholeKey(window, dim))
  for i = 1, #cached, 2 do sums[cached[i]] = cached[i + 1] end
end

-- Adds aggregate b into a (aggregate's form: count, limb sums, min text, max text).
local function combine(a, b)
  a[1] = a[1] + b[1]
  for i = 2, LIMBS + 1 do a[i] = a[i] + b[i] end
  if b[MIN] ~= '' and (a[MIN] == '' or tonumber(b[MIN]) < tonumber(a[MIN])) then a[MIN] = b[MIN] end
  if b[MAX] ~= '' and (a[MAX] == '' or tonumber(b[MAX]) > tonumber(a[MAX])) then a[MAX] = b[MAX] end
  return a
end

local function whole(prefix, value)
  local packed = sums[value]
  if packed and string.sub(packed, 1, #range) == range then
    local fields = {}
    local start = #range + 1
    while true do
      local comma = string.find(packed, ',', start, true)
      fields[#fields + 1] = string.sub(packed, start, (comma or 0) - 1)
      if not comma then break end
      start = comma + 1
    end
    for i = 1, LIMBS + 1 do fields[i] = tonumber(fields[i]) end
    return fields
  end
  local sum = aggregate(prefix, lo * COARSEST, hi * COARSEST + COARSEST - 1)
  local texts = {}
  for i = 1, LIMBS + 1 do texts[i] = int(sum[i]) end
  texts[MIN] = sum[MIN]
  texts[MAX] = sum[MAX]
  redis.call('HSET', wholeKey(window, dim), value, range .. table.concat(texts, ','))
  written = true
  return sum
end

local values = redis.call('ZRANGEBYSCORE', trackedKey(window, dim), '(' .. int(now - windowMs), '+inf')
for _, value in ipairs(values) do
  local prefix = valuePrefix(window, dim, value)
  local own
  if hi >= lo then
    own = aggregate(prefix, from, lo * COARSEST - 1)
    combine(own, whole(prefix, value))
    combine(own, aggregate(prefix, (hi + 1) * COARSEST, now))
  else
    own = aggregate(prefix, from, now)
  end
  if own[1] > 0 or partial(value) == 1 then
    result[#result + 1] = value
    result[#result + 1] = partial(value)
    for _, field in ipairs(own) do result[#result + 1] = field end
  end
end
if written then
  local ttl = redis.call('PTTL', trackedKey(window, dim))
  if ttl > 0 then redis.call('PEXPIRE', wholeKey(window, dim), ttl) end
end
return result
`

/** KEYS: meta. Empties the window for every instance: a new generation; the old one expires. */
export const CLEAR = `#!lua
redis.call('HINCRBY', KEYS[1], 'gen', 1)
return 1
`
