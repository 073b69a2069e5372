-- Each wrk thread logs in its share of the "mobile code" pairs once, then
-- stops. The pairs file is bench/out/pairs.txt.
-- The wall clock, read once per thread at its end (wrk's Lua has none).
local function wallclock()
  local f = io.popen("date +%s.%N")
  local t = f:read("*l")
  f:close()
  return t
end
-- At its answer number #pairs a thread writes the time to
-- bench/out/login-end-<id>.txt (login.sh waits for the files instead of
-- polling the server) and stops. Answers of any kind are counted: wrk sends
-- a new request where a connection failed, so a lost login is never
-- answered, and counting logins alone would wait for it for ever. The end
-- may so come before the last logins in flight are answered (at most one
-- per connection: 32 of a thread's 10,000 at the default N, 0.3%) and the
-- /healthz answers that fill the connections meanwhile are in wrk's
-- latencies.
local function finished()
  local f = io.open(string.format("bench/out/login-end-%d.txt", id), "w")
  f:write(wallclock(), "\n")
  f:close()
end
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
  if #pairs_ == 0 then finished() end -- N smaller than the threads
end
function request()
  pos = pos + 1
  local p = pairs_[pos]
  if p == nil then return wrk.format("GET", "/healthz") end
  local m, c = p:match("(%d+) (%d+)")
  return wrk.format("POST", "/api/v1/auth/otp", {["Content-Type"] = "application/json"},
    '{"mobile":"' .. m .. '","code":"' .. c .. '"}')
end
function response(status, headers, body)
  done_ = done_ + 1
  if done_ == #pairs_ then
    finished()
    wrk.thread:stop()
  end
end
