#!/usr/bin/env bash
# Worker benchmark, against the test Kubernetes API server (testing/kube-api/server.py,
# rollout_ms 0) on loopback:
#   (a) approval -> apply start latency, p50/p99, on SQLite (`stargate serve` with its
#       embedded worker) and on PostgreSQL (`stargate serve` without one, plus one
#       `stargate worker` process);
#   (b) jobs applied per second on PostgreSQL: one `stargate worker` process taking one job
#       at a time (`worker.concurrency = 1`), one with the default concurrency (4), and
#       three with the default (JOBS approved jobs queued first, then the workers start),
#       with the CPU time each part spent per job: the worker processes, PostgreSQL (all
#       its processes on the machine), the test API server and `stargate serve` (which the
#       client polls every 20 ms for the count of applied requests).
#   (c) the peak RSS of `serve` (with and without its worker) and of `stargate worker`.
#
#   cargo build --release --bin stargate && bench/worker.sh     (release build, the default)
#   bench/worker.sh debug                                        (the debug build)
#   bench/worker.sh /path/to/stargate
#
# LATENCY_COUNT (40) requests one at a time for (a), JOBS (200) for (b), RUNS ("1x1 1x4 3x4":
# worker processes x jobs at a time) for (b), PORT (3310).
# PostgreSQL at 127.0.0.1:5432, user postgres (trust), as for the tests. The client side is
# bench/worker_client.py (Python 3 standard library). Prints a results table.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

case "${1:-release}" in
  release | debug) bin=${STARGATE_BIN:-${CARGO_TARGET_DIR:-target}/${1:-release}/stargate} ;;
  *) bin=$1 ;;
esac
[ -x "$bin" ] || { echo "no stargate binary at $bin (build it first)" >&2; exit 1; }
latency_count=${LATENCY_COUNT:-40}
jobs=${JOBS:-200}
port=${PORT:-3310}
url=http://127.0.0.1:$port
client=bench/worker_client.py

dir=$(mktemp -d)
results=$dir/results.tsv
db=stargate_bench_worker_$$
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
  psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
export RUST_LOG=${RUST_LOG:-warn}

# The test API server: ready at once (rollout_ms 0), one kubeconfig (and token) per process.
python3 testing/kube-api/server.py --port 0 >"$dir/kube.out" 2>/dev/null & kube_pid=$!; pids+=("$kube_pid")
until grep -q '^listening on' "$dir/kube.out" 2>/dev/null; do sleep 0.05; done
kube=http://$(sed -n 's/^listening on //p' "$dir/kube.out")
kubeconfig() {
  python3 testing/kube-api/server.py --write-kubeconfig "$dir/kubeconfig-$1" --context test \
    --server "$kube" --token "$1"
  echo "$dir/kubeconfig-$1"
}

# config FILE DATABASE_URL EMBEDDED KUBECONFIG_TOKEN [CONCURRENCY]
config() {
  cat >"$1" <<TOML
listen = "127.0.0.1:$port"
data_dir = "$dir/data"
database_url = "$2"

[log]
filter = "warn"

[auth]
mode = "dev"

[[teams]]
name = "payments"
member_groups = ["payments"]
lead_groups = ["payments-leads"]

[[clusters]]
name = "kind"
kind = "kubeconfig"
kubeconfig = "$(kubeconfig "$4")"
context = "test"

[worker]
embedded = $3
concurrency = ${5:-4}
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
# Peak resident memory of a process so far (VmHWM), for the install manifests' requests.
peak_rss() {
  awk '/^VmHWM/ {printf "%d MB", $2 / 1024}' "/proc/$1/status"
}
rss=()

echo "binary: $bin"
echo "test API server: $kube (rollout_ms 0)"

# (a) SQLite, embedded worker.
mkdir -p "$dir/data"
config "$dir/sqlite.toml" "sqlite://$dir/data/stargate.db" true embedded
serve "$dir/sqlite.toml"
python3 "$client" latency --url "$url" --engineer "$engineer" --lead "$lead" --label "sqlite, embedded worker" \
  --results "$results" --count "$latency_count" --prefix lat-sqlite
rss+=("serve with its embedded worker, SQLite: $(peak_rss "$serve_pid")")
stop_serve

# (a) PostgreSQL, one `stargate worker` process.
psql -q -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE $db"
pg=postgres://postgres@127.0.0.1:5432/$db
config "$dir/pg.toml" "$pg" false api
serve "$dir/pg.toml"
config "$dir/worker-1.toml" "$pg" false "worker-1"
"$bin" --config "$dir/worker-1.toml" worker & worker_pid=$!; pids+=("$worker_pid")
python3 "$client" latency --url "$url" --engineer "$engineer" --lead "$lead" --label "postgres, 1 worker process" \
  --results "$results" --count "$latency_count" --prefix lat-pg
rss+=("stargate worker, PostgreSQL: $(peak_rss "$worker_pid")")
kill "$worker_pid"; wait "$worker_pid" 2>/dev/null || true

# (b) PostgreSQL throughput: PROCESSES x CONCURRENCY.
for run in ${RUNS:-1x1 1x4 3x4}; do
  n=${run%x*} c=${run#*x}
  workers=()
  for i in $(seq 1 "$n"); do
    config "$dir/worker-$i-c$c.toml" "$pg" false "worker-$i" "$c"
    workers+=(--worker "$bin --config $dir/worker-$i-c$c.toml worker")
  done
  python3 "$client" throughput --url "$url" --engineer "$engineer" --lead "$lead" --kube "$kube" \
    --kube-pid "$kube_pid" --serve-pid "$serve_pid" --label "postgres, $n worker process$([ "$n" = 1 ] || echo es) x $c at a time" --results "$results" --count "$jobs" --prefix "tput$run" "${workers[@]}"
done
rss+=("serve without a worker, PostgreSQL: $(peak_rss "$serve_pid")")
stop_serve

echo "peak RSS (VmHWM) after the runs above:"
printf '  %s\n' "${rss[@]}"
echo
echo "approval -> apply start (client: approve response -> first GET not 'queued', 5 ms polls;"
echo "audit: request.approve -> request.claim, second precision); jobs/s: from worker start,"
echo "and between the first and last write the API server received; CPU ms/job: user + system"
echo "time of each part while the jobs ran, divided by the jobs"
python3 "$client" table "$results"
