#!/usr/bin/env bash
# First-load benchmark: the release portal as `make run` builds it, opened cold in Chromium on
# loopback. Prints bytes transferred (compressed, as sent), first contentful paint and time
# until hydrated for the catalog, the request form and a request (or the paths given), median of RUNS
# (default 10) runs.
#
#   make run (or: the release build it does), then: bench/first_load.sh [PATH...]
#
# Also prints the bundle on disk: the main wasm and each lazily loaded chunk, raw and gzip -9.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bin=${STARGATE_BIN:-${CARGO_TARGET_DIR:-target}/release/stargate}
unset STARGATE_BIN # ours, not a server setting
port=${PORT:-3310}
runs=${RUNS:-10}

dir=$(mktemp -d)
cleanup() {
  [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT

echo "bundle on disk (target/site/pkg):"
total=0
for file in target/site/pkg/*.wasm; do
  raw=$(stat -c %s "$file")
  gz=$(gzip -9 -c "$file" | wc -c)
  total=$((total + gz))
  printf '  %-48s %8d bytes, gzip -9 %7d\n' "$(basename "$file")" "$raw" "$gz"
done
echo "  all wasm, gzip -9: $total bytes"

STARGATE_DATA_DIR=$dir STARGATE_LISTEN=127.0.0.1:$port STARGATE_AUTH__MODE=dev RUST_LOG=warn \
  "$bin" serve --demo &
pid=$!
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
  sleep 0.1
done
[ $# -gt 0 ] || set -- /services "/requests/new?kind=service" "/requests/{request}"
node bench/first_load.mjs "http://127.0.0.1:$port" "$runs" "$@"
