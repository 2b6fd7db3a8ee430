-- wrk script for bench/http.ts: `wrk ... -s bench/load.lua <url> -- <get|quantiles|post|keyed|batch|livebatch|dimensioned|value|breakdown> <epoch ms> [batch size]`
-- keyed: as post, each request with an Idempotency-Key of its own. quantiles: GET with three.
-- dimensioned: as post, each with a currency (of 10) and a merchant (of 1 000). value: GET of one
-- merchant's statistics, the merchants in turn. breakdown: GET of the top 10 merchants.
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
  if mode == "dimensioned" then
    local currencies = { "EUR", "USD", "GBP", "JPY", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK" }
    for i = 1, 1000 do
      local body = string.format('{"amount":%s,"timestamp":%d,"currency":"%s","merchant":"m-%d"}',
        amount(i), now - (i % 100), currencies[(i % 10) + 1], i - 1)
      requests[i] = wrk.format("POST", "/transactions", headers, body)
    end
  elseif mode == "post" or mode == "keyed" then
    for i = 1, 100 do
      local body = string.format('{"amount":%s,"timestamp":%d}', amount(i), now - i)
      requests[i] = wrk.format("POST", "/transactions", headers, body)
    end
  else
    -- batch: timestamps spread over a second; livebatch: within 5 ms, as a client batching live
    -- transactions sends them.
    local spread = mode == "livebatch" and 5 or 1000
    for b = 1, 4 do
      local items = {}
      for k = 1, batch_size do
        items[k] = string.format('{"amount":%s,"timestamp":%d}', amount(k + b), now - (k % spread))
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
  if mode == "value" then
    counter = counter + 1
    return wrk.format("GET", "/statistics?merchant=m-" .. (counter % 1000))
  end
  if mode == "breakdown" then
    return wrk.format("GET", "/statistics/breakdown?by=merchant&limit=10")
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
