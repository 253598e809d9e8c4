-- wrk's signed-in load for the rolling-restart test (Tests/MicroblogTests/Robustness/DeploymentTests.swift), through
-- the proxy: every other request posts a message whose text no other request uses, the others read /index. The
-- session cookie, the CSRF token, the site's origin and the posts' prefix come from the environment. At the end it
-- prints one line: RESULT requests=... acknowledged=<posts answered 302 to /index> failed=<any other answer>
-- connect= read= write= status= timeout= (wrk's socket errors) first-failures=<status:location of the first 20>.
local cookie = os.getenv("LOAD_COOKIE")
local token = os.getenv("LOAD_CSRF_TOKEN")
local origin = os.getenv("LOAD_ORIGIN")
local prefix = os.getenv("LOAD_PREFIX")

local threads = {}
local next_id = 1

function setup(thread)
   thread:set("id", next_id)
   next_id = next_id + 1
   table.insert(threads, thread)
end

function init(args)
   sent = 0
   acknowledged = 0
   failed = 0
   failures = ""
end

function request()
   sent = sent + 1
   if sent % 2 == 0 then
      local body = "csrf_token=" .. token .. "&post=" .. prefix .. "-" .. id .. "-" .. sent .. "&submit=Submit"
      return wrk.format("POST", "/index", {
         ["Cookie"] = cookie,
         ["Origin"] = origin,
         ["Sec-Fetch-Site"] = "same-origin",
         ["Content-Type"] = "application/x-www-form-urlencoded",
      }, body)
   end
   return wrk.format("GET", "/index", { ["Cookie"] = cookie })
end

function response(status, headers, body)
   local location = headers["Location"] or headers["location"]
   if status == 302 and location == "/index" then
      acknowledged = acknowledged + 1
   elseif status ~= 200 then
      failed = failed + 1
      if failed <= 20 then failures = failures .. "," .. status .. ":" .. tostring(location) end
   end
end

function done(summary, latency, requests)
   local acknowledged_total, failed_total, failures_seen = 0, 0, ""
   for _, thread in ipairs(threads) do
      acknowledged_total = acknowledged_total + thread:get("acknowledged")
      failed_total = failed_total + thread:get("failed")
      failures_seen = failures_seen .. thread:get("failures")
   end
   local errors = summary.errors
   io.write(string.format(
      "RESULT requests=%d acknowledged=%d failed=%d connect=%d read=%d write=%d status=%d timeout=%d first-failures=%s\n",
      summary.requests, acknowledged_total, failed_total,
      errors.connect, errors.read, errors.write, errors.status, errors.timeout, failures_seen))
end
