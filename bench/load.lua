-- wrk script for bench/http.ts: `wrk ... -s bench/load.lua <url> -- <get|quantiles|post|keyed|batch> <epoch ms> [batch size]`
-- keyed: as post, each request with an Idempotency-Key of its own. quantiles: GET with three.
-- Bodies carry fresh timestamps (inside the window, never in the future) and are rebuilt once a
-- second, so the load generator spends its time sending, not formatting. done() prints one JSON line.

local mode, base_ms, batch_size, started = "get", 0, 1000, 0
local cached_second, requests, counter = -1, {}, 0

function init(args)
  mode = args[1] or "get"
  base_ms = tonumber(args[2]) or 0
  batch_size = tonumber(args[3]) or 1000
  started = os.time()
end

local function amount(i)
  return string.format("%d.%02d", (i * 7919) % 100000, i % 100)
end

local function refresh(second)
  local now = base_ms + (second - started) * 1000
  local headers = { ["Content-Type"] = "application/json" }
  requests = {}
  if mode == "post" or mode == "keyed" then
    for i = 1, 100 do
      local body = string.format('{"amount":%s,"timestamp":%d}', amount(i), now - i)
      requests[i] = wrk.format("POST", "/transactions", headers, body)
    end
  else
    for b = 1, 4 do
      local items = {}
      for k = 1, batch_size do
        items[k] = string.format('{"amount":%s,"timestamp":%d}', amount(k + b), now - (k % 1000))
      end
      requests[b] = wrk.format("POST", "/transactions/batch", headers, "[" .. table.concat(items, ",") .. "]")
    end
  end
end

function request()
  if mode == "get" then
    return wrk.format("GET", "/statistics")
  end
  if mode == "quantiles" then
    return wrk.format("GET", "/statistics?quantiles=0.5,0.9,0.99")
  end
  local second = os.time()
  if second ~= cached_second then
    refresh(second)
    cached_second = second
  end
  counter = counter + 1
  if mode == "keyed" then
    local i = (counter % 100) + 1
    local body = string.format('{"amount":%s,"timestamp":%d}', amount(i), base_ms + (second - started) * 1000 - i)
    local headers = { ["Content-Type"] = "application/json", ["Idempotency-Key"] = base_ms .. "-" .. counter }
    return wrk.format("POST", "/transactions", headers, body)
  end
  return requests[(counter % #requests) + 1]
end

function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"errors":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout + e.status))
end
