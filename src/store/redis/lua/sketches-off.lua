-- The record's sketch functions when the store keeps no sketches: declared, never called (the
-- arguments say sketches are off), so that the script does not build them at every call.
local openSketches, addToSketch, writeSketches, saveSketches
