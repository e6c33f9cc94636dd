#!/usr/bin/env bash
# Live-progress benchmark: how soon an event reaches an open event stream
# (GET /api/v1/requests/{id}/events) after its commit, p50/p99, on loopback:
#   - a comment posted through the REST API (committed by the same process as the stream),
#     on SQLite and on PostgreSQL;
#   - worker progress while a request is applied to the test Kubernetes API server
#     (testing/kube-api/server.py, rollout_ms 0): on SQLite by `stargate serve`'s embedded
#     worker (same process), on PostgreSQL by one `stargate worker` process (another
#     process: the stream hears of it through LISTEN/NOTIFY);
# each with no other stream open, and with IDLE (200) idle streams open, ten on each of
# other requests that do not move (every commit still has the server look at them).
#
#   cargo build --release --bin stargate && bench/events.sh     (release build, the default)
#   bench/events.sh debug                                        (the debug build)
#   bench/events.sh /path/to/stargate
#
# COMMENTS (200) comments and REQUESTS (30) applied requests per run, IDLE (200), PORT
# (3311). PostgreSQL at 127.0.0.1:5432, user postgres (trust), as for the tests. The client
# side is bench/events_client.py (Python 3 standard library). Prints a results table.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

case "${1:-release}" in
  release | debug) bin=${STARGATE_BIN:-${CARGO_TARGET_DIR:-target}/${1:-release}/stargate} ;;
  *) bin=$1 ;;
esac
[ -x "$bin" ] || { echo "no stargate binary at $bin (build it first)" >&2; exit 1; }
comments=${COMMENTS:-200}
requests=${REQUESTS:-30}
idle=${IDLE:-200}
port=${PORT:-3311}
url=http://127.0.0.1:$port
client=bench/events_client.py

dir=$(mktemp -d)
results=$dir/results.tsv
db=stargate_bench_events_$$
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
  psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
export RUST_LOG=${RUST_LOG:-warn}

# The test API server: ready at once (rollout_ms 0).
python3 testing/kube-api/server.py --port 0 >"$dir/kube.out" 2>/dev/null & pids+=($!)
until grep -q '^listening on' "$dir/kube.out" 2>/dev/null; do sleep 0.05; done
kube=http://$(sed -n 's/^listening on //p' "$dir/kube.out")
python3 testing/kube-api/server.py --write-kubeconfig "$dir/kubeconfig" --context test \
  --server "$kube" --token bench

# config FILE DATABASE_URL EMBEDDED
config() {
  cat >"$1" <<TOML
listen = "127.0.0.1:$port"
data_dir = "$dir/data"
database_url = "$2"

[log]
filter = "warn"

[http]
max_streams_per_user = $((idle + 10))

[auth]
mode = "dev"

[[teams]]
name = "payments"
member_groups = ["payments"]
lead_groups = ["payments-leads"]

[[clusters]]
name = "kind"
kind = "kubeconfig"
kubeconfig = "$dir/kubeconfig"
context = "test"

[worker]
embedded = $3
TOML
}

# serve CONFIG: starts the portal and creates the two users' tokens.
serve() {
  "$bin" --config "$1" migrate
  engineer=$("$bin" --config "$1" token create --user pat@example.com --groups payments --scopes read,request 2>/dev/null | tail -n 1)
  lead=$("$bin" --config "$1" token create --user lee@example.com --groups payments,payments-leads --scopes read,request,review 2>/dev/null | tail -n 1)
  "$bin" --config "$1" serve & serve_pid=$!; pids+=("$serve_pid")
  until curl -sf "$url/readyz" >/dev/null; do sleep 0.05; done
}
stop_serve() {
  kill "$serve_pid"; wait "$serve_pid" 2>/dev/null || true
}

# runs LABEL PREFIX: the four measurements against the running portal.
runs() {
  for n in 0 "$idle"; do
    python3 "$client" comments --url "$url" --engineer "$engineer" --lead "$lead" --label "$1" \
      --results "$results" --count "$comments" --idle "$n" --prefix "$2-c$n"
  done
  for n in 0 "$idle"; do
    python3 "$client" worker --url "$url" --engineer "$engineer" --lead "$lead" --label "$1" \
      --kube "$kube" --results "$results" --count "$requests" --idle "$n" --prefix "$2-w$n"
  done
}

echo "binary: $bin"
echo "test API server: $kube (rollout_ms 0)"

# SQLite: `stargate serve` with its embedded worker.
mkdir -p "$dir/data"
config "$dir/sqlite.toml" "sqlite://$dir/data/stargate.db" true
serve "$dir/sqlite.toml"
runs "sqlite, embedded worker" sqlite
stop_serve

# PostgreSQL: `stargate serve` without a worker, and one `stargate worker` process.
psql -q -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE $db"
config "$dir/pg.toml" "postgres://postgres@127.0.0.1:5432/$db" false
serve "$dir/pg.toml"
"$bin" --config "$dir/pg.toml" worker & worker_pid=$!; pids+=("$worker_pid")
runs "postgres, 1 worker process" pg
kill "$worker_pid"; wait "$worker_pid" 2>/dev/null || true
stop_serve

echo
echo "event arrival on the stream, measured from just before the comment's POST was sent"
echo "(same process), or from the end of the worker's write that the event's commit follows"
echo "(the embedded worker on SQLite, a \`stargate worker\` process on PostgreSQL)"
python3 "$client" table "$results"
