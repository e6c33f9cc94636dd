#!/usr/bin/env bash
# Catalog benchmark: 10,000 services, wrk -t2 -c8 on loopback, against a release build.
#
#   cargo leptos build --release --split && bench/catalog.sh sqlite    (or: postgres)
#
# Prints the seeding time, req/s with p50/p99 for the services list (a page of 20 with its
# total), one service by name (one hot name, then 1,000 and all 10,000 names in turn, via
# bench/by_name.lua) and the server-rendered catalog page, the server's RSS idle
# and under load, and the query plan of the list. Loopback only; every run is bounded.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

backend=${1:-sqlite}
bin=${STARGATE_BIN:-${CARGO_TARGET_DIR:-target}/release/stargate}
unset STARGATE_BIN # ours, not a server setting
duration=${DURATION:-20s}
port=${PORT:-3300}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }

dir=$(mktemp -d)
export STARGATE_DATA_DIR=$dir STARGATE_LISTEN=127.0.0.1:$port STARGATE_AUTH__MODE=dev RUST_LOG=warn
db=""
if [ "$backend" = postgres ]; then
  db="stargate_bench_$$"
  psql -q -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE $db"
  export STARGATE_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db"
fi
cleanup() {
  [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  [ -n "$db" ] && psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
  rm -rf "$dir"
}
trap cleanup EXIT

"$bin" migrate
start=$(date +%s%N)
"$bin" seed --services 10000
echo "seed 10000 services: $(( ($(date +%s%N) - start) / 1000000 )) ms"
# Measure the steady state, not autovacuum catching up with 10,000 fresh rows mid-run.
[ "$backend" = postgres ] && psql -q -h 127.0.0.1 -U postgres -d "$db" -c "VACUUM ANALYZE"
token=$("$bin" token create --user bench@example.com --groups seed-billing 2>/dev/null | tail -n 1)

"$bin" serve & pid=$!
until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; do sleep 0.05; done
sleep 1
echo "idle RSS: $(awk '/VmRSS/ {print $2, $3}' "/proc/$pid/status")"

run() {
  local label=$1 path=$2 script=${3:-}
  local out
  out=$(wrk -t2 -c8 -d"$duration" --latency ${script:+-s "$script"} \
    -H "Authorization: Bearer $token" "http://127.0.0.1:$port$path")
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  local errors
  errors=$(awk '/Non-2xx/ {print $4}' <<<"$out")
  printf '%-34s %10s req/s  p50 %8s  p99 %8s  %s\n' "$label" "$rps" "$p50" "$p99" "${errors:+non-2xx: $errors}"
  echo "  RSS after: $(awk '/VmRSS/ {print $2, $3}' "/proc/$pid/status")"
}

echo "backend: $backend, wrk -t2 -c8 -d$duration"
run "services list (page of 20 + total)" "/api/v1/services?page=7"
run "one service by name" "/api/v1/services/seed-billing/billing-api-00000"
NAMES=1000 run "by name, 1,000 services in turn" / bench/by_name.lua
NAMES=10000 run "by name, all 10,000 in turn" / bench/by_name.lua
run "catalog page (SSR)" "/services?page=7"
run "search (q=gateway)" "/api/v1/services?q=gateway"

if [ "$backend" = sqlite ]; then
  python3 - "$dir/stargate.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
where = """(?1 IS NULL OR s.team_name = ?1) AND (?2 IS NULL OR s.status = ?2)
 AND (?4 IS NULL OR s.cluster = ?4) AND (?3 IS NULL OR s.search_text LIKE ?3 ESCAPE '\\'
 OR s.id IN (SELECT h.service_id FROM hosts h WHERE h.host LIKE ?3 ESCAPE '\\'))"""
for label, args in (("list", (None, None, None, None)), ("search", (None, None, "%gateway%", None))):
    print(f"query plan ({label}):")
    sql = f"SELECT s.name FROM services s WHERE {where} ORDER BY s.team_name, s.name LIMIT 20 OFFSET 120"
    for row in db.execute("EXPLAIN QUERY PLAN " + sql, args):
        print("  ", row[-1])
PY
else
  echo "query plan (list):"
  psql -h 127.0.0.1 -U postgres -d "$db" -c "EXPLAIN ANALYZE SELECT s.name, s.team_name FROM services s ORDER BY s.team_name, s.name LIMIT 20 OFFSET 120" | sed 's/^/  /'
fi
