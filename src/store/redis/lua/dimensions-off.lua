-- The record's dimension functions when the store keeps no dimensions: declared, never called
-- (recordAll calls them only when there are dimensions), and nothing to expire.
local trackValues, addValues, saveNewest
local function expireDimensions() end
local function writeRollups() end
