-- An empty aggregate, as aggregate returns it.
local function emptyAggregate()
  local result = {0}
  for i = 1, LIMBS do result[i + 1] = 0 end
  result[MIN] = ''
  result[MAX] = ''
  return result
end
