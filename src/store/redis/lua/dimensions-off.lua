-- The record's dimension functions when the store keeps no dimensions: declared, never called.
local trackedKey, partialKey, wholeKey, trackValues, addValues, saveNewest
local dimensionsTouched = false
