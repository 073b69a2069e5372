-- Each wrk thread logs in its share of the "mobile code" pairs once, then
-- stops. The pairs file is bench/out/pairs.txt.
local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end
function init(args)
  nthreads = tonumber(args[1]) or 2
  pairs_ = {}
  local i = 0
  for line in io.lines("bench/out/pairs.txt") do
    if i % nthreads == id then table.insert(pairs_, line) end
    i = i + 1
  end
  pos = 0
  done_ = 0
end
function request()
  pos = pos + 1
  local p = pairs_[pos]
  if p == nil then return wrk.format("GET", "/healthz") end
  local m, c = p:match("(%d+) (%d+)")
  return wrk.format("POST", "/api/v1/auth/otp", {["Content-Type"] = "application/json"},
    '{"mobile":"' .. m .. '","code":"' .. c .. '"}')
end
-- The wall clock, read once per thread at its end (wrk's Lua has none).
local function wallclock()
  local f = io.popen("date +%s.%N")
  local t = f:read("*l")
  f:close()
  return t
end
-- At its last answer a thread writes the time to bench/out/login-end-<id>.txt
-- (login.sh waits for the files instead of polling the server) and stops.
function response(status, headers, body)
  done_ = done_ + 1
  if done_ == #pairs_ then
    local f = io.open(string.format("bench/out/login-end-%d.txt", id), "w")
    f:write(wallclock(), "\n")
    f:close()
    wrk.thread:stop()
  end
end
