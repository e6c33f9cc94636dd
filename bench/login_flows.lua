-- wrk: every request forwarded (through the trusted loopback proxy) for another client
-- address, so the per-client limit on sign-ins started does not apply to the run.
local n = 0
request = function()
  n = n + 1
  local addr = string.format("10.%d.%d.%d", math.random(2, 254), math.random(0, 255), n % 250 + 1)
  return wrk.format("GET", "/login", { ["X-Forwarded-For"] = addr })
end
