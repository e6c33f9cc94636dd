#!/usr/bin/env bash
# The image test: builds the OCI image with deploy/image/build.sh (from BINARY, usually the
# debug build the other tests use, and the site bundle in target/site), unpacks it with
# umoci and runs the image's own entry point, user and environment from the unpacked root:
# `stargate serve` on SQLite must answer /readyz, render the catalog and serve the bundle.
# Needs root (chroot), as CI and `make test` run it.
set -euo pipefail
binary=${1:?usage: testing/image.sh BINARY}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
site=${SITE_ROOT:-$repo/target/site}
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
work=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ]; then
    $SUDO kill "$pid" 2>/dev/null || true
    # The server may still be writing (its IaC repository) until it has exited.
    wait "$pid" 2>/dev/null || true
  fi
  # A git it started can outlive it by a moment: try again rather than fail the test.
  for _ in 1 2 3 4 5; do $SUDO rm -rf "$work" 2>/dev/null && return; sleep 0.5; done
  $SUDO rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "image test: $*" >&2; [ ! -f "$work/serve.log" ] || tail -20 "$work/serve.log" >&2; exit 1; }

$SUDO bash "$repo/deploy/image/build.sh" "$binary" "$site" "$work/out"
archive=$(ls "$work"/out/stargate-*.oci.tar)
version=$(basename "$archive" .oci.tar); version=${version#stargate-}
$SUDO umoci unpack --image "$work/out/oci:stargate:$version" "$work/bundle" >/dev/null
root=$work/bundle/rootfs
# The devices every container runtime provides.
$SUDO mkdir -p "$root/dev"
for device in "null 1 3" "zero 1 5" "random 1 8" "urandom 1 9"; do
  set -- $device
  $SUDO mknod -m 666 "$root/dev/$1" c "$2" "$3"
done

# What the image says about itself (the runtime config umoci derived from it).
read -r user args env_lines < <(python3 - "$work/bundle/config.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))["process"]
print(f'{p["user"]["uid"]}:{p["user"]["gid"]}', ",".join(p["args"]), "|".join(p["env"]))
PY
)
[ "$user" = "10001:10001" ] || fail "runs as $user, not the non-root 10001"
[ "$args" = "/usr/local/bin/stargate,serve" ] || fail "entry point is $args"
labels=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["annotations"])' "$work/bundle/config.json")
grep -q "org.opencontainers.image.version': '$version'" <<<"$labels" || fail "no version label: $labels"
grep -q "org.opencontainers.image.revision" <<<"$labels" || fail "no revision label: $labels"
$SUDO chroot --userspec=10001:10001 "$root" /usr/bin/git --version >/dev/null \
  || fail "git (for IaC remotes) does not run in the image"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
IFS='|' read -r -a env <<<"$env_lines"
chroot=$(command -v chroot) # found on this machine's PATH, not the image's
# The image's environment, then what this test needs: a loopback address (dev sign-in
# insists on one) and the demo catalog.
$SUDO env -i "${env[@]}" STARGATE_LISTEN="127.0.0.1:$port" STARGATE_AUTH__MODE=dev \
  "$chroot" --userspec="$user" "$root" /usr/local/bin/stargate serve --demo \
  > "$work/serve.log" 2>&1 &
pid=$!
base="http://127.0.0.1:$port"
for _ in $(seq 1 300); do
  curl -fsS "$base/readyz" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || fail "stargate serve exited"
  sleep 0.2
done
ready=$(curl -sS "$base/readyz") || fail "/readyz did not answer"
grep -q '"ready"' <<<"$ready" || fail "/readyz: $ready"
page=$(curl -fsSL "$base/") || fail "the portal page does not answer"
grep -q '/pkg/stargate' <<<"$page" \
  || fail "the portal page does not load the site bundle"
wasm_type=$(curl -fsS -o /dev/null -w '%{content_type}' "$base/pkg/stargate.wasm") \
  || fail "/pkg/stargate.wasm is not served from the image"
[ "$wasm_type" = "application/wasm" ] || fail "/pkg/stargate.wasm served as $wasm_type"
owner=$(stat -c %u "$root/var/lib/stargate/stargate.db") || fail "no database in /var/lib/stargate"
[ "$owner" = 10001 ] || fail "the database belongs to uid $owner"
echo "image test: stargate:$version serves from its unpacked root as uid 10001 ($base)"
