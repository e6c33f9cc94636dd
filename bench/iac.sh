#!/usr/bin/env bash
# IaC benchmarks:
#   (a) commit cost per applied request at 10,000 services, and the repository's size
#       (`cargo bench -p server --bench iac_commit`, release profile);
#   (b) `stargate export` of 10,000 services (seeded into a fresh SQLite database): wall
#       time, files and bytes written.
#
#   bench/iac.sh            (SERVICES=10000; COMMITS=1000 for (a))
# Uses $CARGO_TARGET_DIR (or target/) and builds what is missing. Prints the results.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
services=${SERVICES:-10000}
export SERVICES=$services COMMITS=${COMMITS:-1000} RUST_LOG=${RUST_LOG:-warn}

cargo bench -q -p server --bench iac_commit 2>/dev/null | grep -v '^$'

cargo build -q --release -p server --bin stargate
bin=${CARGO_TARGET_DIR:-target}/release/stargate
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export STARGATE_DATA_DIR=$dir STARGATE_AUTH__MODE=dev
"$bin" migrate
seed_started=$(date +%s.%N)
"$bin" seed --services "$services"
seed_took=$(echo "$(date +%s.%N) - $seed_started" | bc)
started=$(date +%s.%N)
"$bin" export "$dir/export" >/dev/null
took=$(echo "$(date +%s.%N) - $started" | bc)
files=$(find "$dir/export" -type f | wc -l)
bytes=$(du -sb "$dir/export" | cut -f1)
printf 'stargate export, %d services: %.2f s, %d files, %.1f MB (seeding took %.2f s)\n' \
  "$services" "$took" "$files" "$(echo "$bytes / 1000000" | bc -l)" "$seed_took"
