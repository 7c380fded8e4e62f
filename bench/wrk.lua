-- wrk script for `make bench`: args are MODE TOKEN OFFSET PATH [BODY].
--   create: POST a fresh, non-overlapping 30-minute slot each request (OFFSET keeps runs apart;
--           100,000 slots, about 5.7 years, per run keeps every run before the year 9000)
--   create-panel: the same with a panel of 4 (bench/load.py's interviewers 100001-100004)
--   hold:   POST /api/v1/holds for a fresh slot each request (as create's), 5 minutes
--   post:   POST PATH with BODY (JSON) every time (a search)
--   get:    GET PATH
-- Prints one JSON line with throughput, latency percentiles (microseconds) and errors.
local mode, token, offset, path, body
local counter = 0
local base = 1893456000 -- 2030-01-01T00:00:00Z

function init(args)
  mode, token, offset, path, body = args[1], args[2], tonumber(args[3]), args[4], args[5]
end

function request()
  local headers = {["Authorization"] = "Bearer " .. token, ["Accept"] = "application/json"}
  if mode == "post" then
    headers["Content-Type"] = "application/json"
    return wrk.format("POST", path, headers, body)
  end
  if mode ~= "create" and mode ~= "create-panel" and mode ~= "hold" then
    return wrk.format("GET", path, headers)
  end
  counter = counter + 1
  local start = base + (offset + counter) * 1800
  headers["Content-Type"] = "application/json"
  if mode == "hold" then
    return wrk.format("POST", "/api/v1/holds", headers, string.format(
      '{"hold": {"interviewee_id": 289, "slots": [{"start_at": "%s", "end_at": "%s", ' ..
      '"interviewer_ids": [1014]}]}}',
      os.date("!%Y-%m-%dT%H:%M:%SZ", start), os.date("!%Y-%m-%dT%H:%M:%SZ", start + 1800)))
  end
  local panel = ""
  if mode == "create-panel" then
    panel = ', "panel": [{"interviewer_id": 100001, "role": "panelist"}, ' ..
      '{"interviewer_id": 100002, "role": "panelist"}, {"interviewer_id": 100003, "role": "panelist"}, ' ..
      '{"interviewer_id": 100004, "role": "panelist"}]'
  end
  local body = string.format(
    '{"interview": {"interviewee_id": 289, "interviewer_id": 1014, "kind": "video_call", ' ..
    '"location": "https://zoom.com", "start_at": "%s", "end_at": "%s"%s}}',
    os.date("!%Y-%m-%dT%H:%M:%SZ", start), os.date("!%Y-%m-%dT%H:%M:%SZ", start + 1800), panel)
  return wrk.format("POST", "/api/v1/interviews", headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "seconds": %.3f, "p50_us": %d, "p99_us": %d, "errors": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
