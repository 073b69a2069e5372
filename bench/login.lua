-- Each wrk thread logs in its share of the "mobile code" pairs once, then
-- stops. The pairs file is bench/out/pairs.txt; the arguments are wrk's
-- threads and connections (login.sh: -- 2 64).
--
-- The load generator shares the machine's two cores with the server, so
-- it does as little as it can per request: every request is made once, at
-- init, and request() only hands the next one out; there is no response()
-- (wrk then parses no answer into Lua tables: that was about half of wrk's
-- CPU per login).
-- The wall clock, read once per thread at its end (wrk's Lua has none).
local function wallclock()
  local f = io.popen("date +%s.%N")
  local t = f:read("*l")
  f:close()
  return t
end
-- The end: wrk asks for a connection's next request once its answer is in
-- (no pipelining), so with C connections the thread's request number
-- #pairs + C is asked for right after its answer number #pairs (counted
-- from the first request sent: see pos in init). The
-- thread then writes the time to bench/out/login-end-<id>.txt (login.sh
-- waits for the files instead of polling the server) and stops. Answers of
-- any kind count: wrk sends a new request where a connection failed, so a
-- lost login is never answered, and counting logins alone would wait for
-- it for ever (login.sh counts the logins that succeeded from the
-- server's metrics). The end may so come before the last logins in flight
-- are answered (at most one per connection: 32 of a thread's 10,000 at the
-- default N, 0.3%) and the /healthz requests that fill the connections
-- meanwhile are in wrk's latencies.
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
  local nthreads, c = tonumber(args[1]), tonumber(args[2])
  if not nthreads or not c then error("usage: wrk ... -s bench/login.lua URL -- THREADS CONNECTIONS") end
  conns = math.floor(c / nthreads)
  reqs = {}
  local i = 0
  for line in io.lines("bench/out/pairs.txt") do
    if i % nthreads == id then
      local mobile, code = line:match("(%d+) (%d+)")
      table.insert(reqs, wrk.format("POST", "/api/v1/auth/otp", {["Content-Type"] = "application/json"},
        '{"mobile":"' .. mobile .. '","code":"' .. code .. '"}'))
    end
    i = i + 1
  end
  healthz = wrk.format("GET", "/healthz")
  -- wrk asks thread 0 for one request before the run, to check it (how
  -- many messages it holds: its pipelining), and never sends it: that one
  -- is the /healthz request at position 0
  pos = (id == 0) and -1 or 0
  if #reqs == 0 then finished() end -- N smaller than the threads
end
function request()
  pos = pos + 1
  if pos == #reqs + conns then
    finished()
    wrk.thread:stop()
  end
  return reqs[pos] or healthz
end
