#!lua
-- KEYS: meta. Empties the window for every instance: a new generation; the old one expires.
redis.call('HINCRBY', KEYS[1], 'gen', 1)
return 1
