#!/usr/bin/env bash
# Sign-in start benchmark: `GET /login` (OIDC mode: each visit writes a login flow) with
# 100,000 stale flows left in the table, on loopback, against the test identity provider
# (testing/oidc-provider, node). Target: p99 < 50 ms.
#
#   cargo build --release --bin stargate && bench/login_flows.sh          (release, SQLite)
#   bench/login_flows.sh debug postgres                                   (debug build, PostgreSQL)
#   bench/login_flows.sh /path/to/stargate [sqlite|postgres]
#
# Prints (a) p50/p99 of REQUESTS (500) sequential `/login`s with curl while the stale flows
# are being cleared (each start removes at most 20 expired ones), then (b) req/s, p50/p99
# under `wrk -t2 -c8 -d$DURATION` (10s), and what is left in the table, and on SQLite the
# query plans of the cleanup and the bound. Stargate runs behind a "proxy" on loopback
# (http.trusted_proxies = 127.0.0.1/32) and every request is forwarded for another client
# address, so the per-client limit on sign-ins started (30 a minute) does not cut the run
# short; auth.max_login_flows is raised so the bound does not either.
# PostgreSQL at 127.0.0.1:5432, user postgres (trust), as for the tests.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

case "${1:-release}" in
  release | debug) bin=${STARGATE_BIN:-${CARGO_TARGET_DIR:-target}/${1:-release}/stargate} ;;
  *) bin=$1 ;;
esac
unset STARGATE_BIN # ours, not a server setting
[ -x "$bin" ] || { echo "no stargate binary at $bin (build it first)" >&2; exit 1; }
backend=${2:-sqlite}
stale=${STALE:-100000}
requests=${REQUESTS:-500}
duration=${DURATION:-10s}
port=${PORT:-3320}
url=http://127.0.0.1:$port
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
[ -d testing/oidc-provider/node_modules ] ||
  (cd testing/oidc-provider && npm ci --no-audit --no-fund --silent)

dir=$(mktemp -d)
db=""
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
  [ -n "$db" ] && psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
  rm -rf "$dir"
}
trap cleanup EXIT

# The identity provider, on a free port; it prints {"issuer": ...} once it listens.
PORT=0 REDIRECT_URIS=$url/auth/callback node testing/oidc-provider/provider.mjs >"$dir/idp.out" 2>/dev/null &
pids+=($!)
for _ in $(seq 200); do [ -s "$dir/idp.out" ] && break; sleep 0.05; done
issuer=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["issuer"])' "$dir/idp.out")

export STARGATE_DATA_DIR=$dir STARGATE_LISTEN=127.0.0.1:$port RUST_LOG=warn \
  STARGATE_AUTH__MODE=oidc STARGATE_AUTH__OIDC__ISSUER_URL=$issuer \
  STARGATE_AUTH__OIDC__CLIENT_ID=stargate STARGATE_AUTH__OIDC__CLIENT_SECRET=stargate-secret \
  STARGATE_HTTP__TRUSTED_PROXIES=127.0.0.1/32 STARGATE_AUTH__MAX_LOGIN_FLOWS=1000000
if [ "$backend" = postgres ]; then
  db="stargate_bench_login_$$"
  psql -q -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE $db"
  export STARGATE_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db"
fi
"$bin" migrate

# Stale flows: abandoned sign-ins whose ten minutes passed long ago.
fill_sql="INSERT INTO login_flows (state_hash, nonce, pkce_verifier, return_to, expires_at)"
if [ "$backend" = postgres ]; then
  psql -q -h 127.0.0.1 -U postgres -d "$db" -c "$fill_sql
    SELECT 'stale-' || i, 'n', 'v', '/services',
           '2026-01-01T00:00:' || lpad((i % 60)::text, 2, '0') || '.000000Z'
    FROM generate_series(1, $stale) AS i; ANALYZE login_flows"
else
  python3 - "$dir/stargate.db" "$stale" "$fill_sql" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = ((f"stale-{i}", "n", "v", "/services", f"2026-01-01T00:00:{i % 60:02d}.000000Z")
        for i in range(int(sys.argv[2])))
db.executemany(sys.argv[3] + " VALUES (?, ?, ?, ?, ?)", rows)
db.commit()
PY
fi
count() {
  if [ "$backend" = postgres ]; then
    psql -qtA -h 127.0.0.1 -U postgres -d "$db" -c "SELECT COUNT(*) FROM login_flows WHERE $1"
  else
    python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT COUNT(*) FROM login_flows WHERE " + sys.argv[2]).fetchone()[0])' "$dir/stargate.db" "$1"
  fi
}
echo "backend: $backend, binary: $bin"
echo "stale flows before: $(count "state_hash LIKE 'stale-%'")"

"$bin" serve >"$dir/serve.log" 2>&1 &
pids+=($!)
until curl -sf "$url/readyz" >/dev/null; do sleep 0.05; done
# The first start discovers the provider; not part of the measurement.
curl -s -o /dev/null -H "X-Forwarded-For: 10.255.0.1" "$url/login"

percentiles() { # label; times in seconds on stdin
  sort -n | awk -v label="$1" '{ t[NR] = $1 * 1000; sum += t[NR] }
    END { p50 = t[int(NR * 0.50 + 0.5)]; p99 = t[int(NR * 0.99 + 0.5)]
          printf "%-44s n=%d  p50 %.1f ms  p99 %.1f ms  max %.1f ms\n", label, NR, p50, p99, t[NR] }'
}

# (a) One at a time, each from its own client address, while stale flows remain.
for i in $(seq "$requests"); do
  curl -s -o /dev/null -w '%{http_code} %{time_total}\n' \
    -H "X-Forwarded-For: 10.1.$((i / 250)).$((i % 250 + 1))" "$url/login"
done >"$dir/curl.txt"
awk '$1 != 303 { bad++ } END { if (bad) print "  non-303 answers:", bad }' "$dir/curl.txt"
awk '{ print $2 }' "$dir/curl.txt" | percentiles "/login, sequential, stale flows present"
echo "stale flows left: $(count "state_hash LIKE 'stale-%'")"

# (b) Under load.
out=$(wrk -t2 -c8 -d"$duration" --latency -s bench/login_flows.lua "$url/login")
rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
errors=$(awk '/Non-2xx/ {print $5}' <<<"$out")
printf '%-44s %s req/s  p50 %s  p99 %s  %s\n' "/login, wrk -t2 -c8 -d$duration" "$rps" "$p50" "$p99" \
  "${errors:+errors (4xx/5xx): $errors}"
echo "flows after: $(count "1 = 1") (stale: $(count "state_hash LIKE 'stale-%'"))"

if [ "$backend" = sqlite ]; then
  python3 - "$dir/stargate.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for label, sql in (
    ("cleanup", "DELETE FROM login_flows WHERE state_hash IN (SELECT state_hash FROM login_flows"
                " WHERE expires_at < ?1 ORDER BY expires_at LIMIT 20)"),
    ("bound", "SELECT COUNT(*) FROM login_flows WHERE expires_at > ?1"),
):
    plan = db.execute("EXPLAIN QUERY PLAN " + sql, ("2026-12-01T00:00:00Z",)).fetchall()
    print(f"query plan ({label}): " + "; ".join(row[3] for row in plan))
PY
fi
