-- Lint of the Redis scripts as they run: scripts/lint-lua.ts assembles each one (its includes and
-- the constants table C) and checks it here. Redis runs Lua 5.1 with these globals.
std = 'lua51'
read_globals = { 'redis', 'KEYS', 'ARGV', 'struct' }
-- The constants table C has one line per constant; the longest is the digit fields.
max_line_length = 140
-- The shared parts (prelude, aggregate, sketches, dimension keys) define what some of the scripts
-- that include them never use; an argument may go unused where a callback's shape is fixed.
unused = false
-- Shadowing: functions name their block's window and instant as the prelude names the script's
-- (window, at); kept as the TypeScript twins name them.
ignore = { '421', '431', '432' }
