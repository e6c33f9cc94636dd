#!/usr/bin/env bash
# Drift detection benchmark, against the test Kubernetes API server
# (testing/kube-api/server.py, reads recorded) on loopback, SQLite:
#   (a) OBJECTS managed objects (Deployments and Services, 100 per namespace) on one
#       cluster: applied server-side as `stargate` on the test server, and recorded in
#       Stargate's applied_objects as if requests had applied them;
#   (b) the interval check (watch off): wall time from its first LIST to the last object
#       recorded, and the API calls it made;
#   (c) the watch (interval off): the paged LISTs it starts from, then the time from a live
#       change (a kubectl merge patch of a Deployment's replicas) to the drift mark;
#   (d) the peak RSS of `stargate serve` (embedded worker) in each.
#
#   bench/drift.sh                 (the debug build: no release builds here; say so)
#   bench/drift.sh release
#   bench/drift.sh /path/to/stargate
#
# OBJECTS (10000), CHANGES (10), PORT (3320). Prints what it measured.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

case "${1:-debug}" in
  release | debug) bin=${STARGATE_BIN:-${CARGO_TARGET_DIR:-target}/${1:-debug}/stargate} ;;
  *) bin=$1 ;;
esac
[ -x "$bin" ] || { echo "no stargate binary at $bin (build it first)" >&2; exit 1; }
objects=${OBJECTS:-10000}
changes=${CHANGES:-10}
port=${PORT:-3320}
url=http://127.0.0.1:$port
client=bench/drift_client.py

dir=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
  rm -rf "$dir"
}
trap cleanup EXIT
export RUST_LOG=${RUST_LOG:-warn}

python3 testing/kube-api/server.py --port 0 --record-reads >"$dir/kube.out" 2>/dev/null & pids+=($!)
until grep -q '^listening on' "$dir/kube.out" 2>/dev/null; do sleep 0.05; done
kube=http://$(sed -n 's/^listening on //p' "$dir/kube.out")
python3 testing/kube-api/server.py --write-kubeconfig "$dir/kubeconfig" --context test \
  --server "$kube" --token bench

# config FILE INTERVAL_SECONDS WATCH
config() {
  cat >"$1" <<TOML
listen = "127.0.0.1:$port"
data_dir = "$dir/data"
database_url = "sqlite://$dir/data/stargate.db"

[log]
filter = "warn"

[auth]
mode = "dev"

[[clusters]]
name = "kind"
kind = "kubeconfig"
kubeconfig = "$dir/kubeconfig"
context = "test"

[drift]
interval_seconds = $2
watch = $3
TOML
}
serve() {
  "$bin" --config "$1" serve & serve_pid=$!; pids+=("$serve_pid")
  until curl -sf "$url/readyz" >/dev/null; do sleep 0.05; done
}
stop_serve() {
  kill "$serve_pid"; wait "$serve_pid" 2>/dev/null || true
}
peak_rss() {
  awk '/^VmHWM/ {printf "%d MB", $2 / 1024}' "/proc/$1/status"
}
echo "binary: $bin"
echo "test API server: $kube"
mkdir -p "$dir/data"
config "$dir/interval.toml" 3600 false
"$bin" --config "$dir/interval.toml" migrate
python3 "$client" seed --kube "$kube" --db "$dir/data/stargate.db" --namespaces $((objects / 100)) --per-namespace 100

# (b) The interval check runs once at start.
reads_before=$(python3 "$client" last-read --kube "$kube")
serve "$dir/interval.toml"
python3 "$client" interval --kube "$kube" --db "$dir/data/stargate.db" --objects "$objects" --since "$reads_before"
rss_interval=$(peak_rss "$serve_pid")
stop_serve

# (c) The watch alone.
config "$dir/watch.toml" 0 true
reads_before=$(python3 "$client" last-read --kube "$kube")
serve "$dir/watch.toml"
python3 "$client" watch --kube "$kube" --db "$dir/data/stargate.db" --objects "$objects" --changes "$changes" --since "$reads_before"
rss_watch=$(peak_rss "$serve_pid")
stop_serve

echo "peak RSS (VmHWM) of stargate serve: interval check $rss_interval, watch $rss_watch"
