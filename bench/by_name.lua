-- wrk script: one service by name, cycling over the first NAMES services that
-- `stargate seed` creates (server/src/seed.rs names them area-role-NNNNN).
local areas = { "billing", "checkout", "search", "identity", "catalog", "shipping",
  "pricing", "reviews", "inventory", "payments", "messaging", "analytics", "ads", "media",
  "support", "loyalty" }
local roles = { "api", "worker", "gateway", "indexer", "scheduler", "exporter", "sync",
  "cache", "ui", "events", "reports", "admin" }
local names = tonumber(os.getenv("NAMES") or "1000")
local next = 0

request = function()
  local k = next % names
  next = next + 1
  local area = areas[(k % #areas) + 1]
  local role = roles[(math.floor(k / #areas) % #roles) + 1]
  local path = string.format("/api/v1/services/seed-%s/%s-%s-%05d", area, area, role, k)
  return wrk.format("GET", path)
end
