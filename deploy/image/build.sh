#!/usr/bin/env bash
# Builds Stargate's OCI image without a container engine: a root filesystem of our own
# files (the binary and the shared libraries it links, git for IaC remotes, CA
# certificates, a non-root user, the site bundle), packed into an OCI layout by umoci.
#
# Usage: deploy/image/build.sh BINARY SITE_ROOT OUT_DIR
#   BINARY     the `stargate` executable (`make image` builds the release one)
#   SITE_ROOT  the built site (`target/site`: pkg/ with the wasm, JS and CSS)
#   OUT_DIR    where the OCI layout (OUT_DIR/oci, tag stargate:<version>) and an OCI
#              archive (OUT_DIR/stargate-<version>.oci.tar, for `podman load`,
#              `docker load` or `skopeo copy oci-archive:…`) are written
# Environment: VERSION and COMMIT label the image (default: Cargo.toml's, git HEAD).
set -euo pipefail
[ $# -eq 3 ] || { sed -n '5,12p' "$0" >&2; exit 2; }
binary=$1 site=$2 out=$3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
version=${VERSION:-$(sed -n 's/^version = "\(.*\)"$/\1/p' "$repo/Cargo.toml" | head -1)}
commit=${COMMIT:-$(git -C "$repo" rev-parse HEAD 2>/dev/null || echo unknown)}
uid=10001
[ -x "$binary" ] || { echo "no executable at $binary" >&2; exit 1; }
[ -d "$site/pkg" ] || { echo "no site bundle at $site/pkg (make image builds it)" >&2; exit 1; }
command -v umoci >/dev/null || { echo "umoci is missing (Debian package umoci)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
mkdir -p "$root"/{usr/local/bin,usr/share/stargate,etc/ssl/certs,etc/stargate,var/lib/stargate,tmp,bin}
install -m 0755 "$binary" "$root/usr/local/bin/stargate"
cp -a "$site" "$root/usr/share/stargate/site"
# git pushes to an IaC remote (`iac.remote` over HTTPS); its credential helper is a shell
# function, hence /bin/sh.
install -D -m 0755 /usr/bin/git "$root/usr/bin/git"
install -D -m 0755 /usr/lib/git-core/git-remote-https "$root/usr/lib/git-core/git-remote-https"
ln -s git-remote-https "$root/usr/lib/git-core/git-remote-http"
install -m 0755 /bin/dash "$root/bin/sh"
# Every shared library those link, at the path the dynamic loader looks for it.
for elf in "$root/usr/local/bin/stargate" "$root/usr/bin/git" \
  "$root/usr/lib/git-core/git-remote-https" "$root/bin/sh"; do
  missing=$(ldd "$elf" | grep 'not found' || true)
  [ -z "$missing" ] || { echo "$elf links libraries this machine lacks: $missing" >&2; exit 1; }
  ldd "$elf" | awk '/=> \//{print $3} /^\t\/[^ ]+ \(/{print $1}'
done | sort -u | while read -r lib; do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nstargate:x:%s:%s:Stargate:/var/lib/stargate:/usr/sbin/nologin\n' \
  "$uid" "$uid" > "$root/etc/passwd"
printf 'root:x:0:\nstargate:x:%s:\n' "$uid" > "$root/etc/group"
printf 'hosts: files dns\n' > "$root/etc/nsswitch.conf"
chmod 1777 "$root/tmp"
chown -R "$uid:$uid" "$root/var/lib/stargate"

rm -rf "$out/oci"
mkdir -p "$out"
image="$out/oci:stargate:$version"
umoci init --layout "$out/oci"
umoci new --image "$image"
umoci unpack --image "$image" "$work/bundle" >/dev/null
cp -a "$root/." "$work/bundle/rootfs/"
umoci repack --image "$image" "$work/bundle"
umoci config --image "$image" \
  --author "Stargate" \
  --config.user "$uid:$uid" \
  --config.entrypoint /usr/local/bin/stargate \
  --config.cmd serve \
  --config.workingdir /var/lib/stargate \
  --config.env PATH=/usr/local/bin:/usr/bin:/bin \
  --config.env STARGATE_SITE_ROOT=/usr/share/stargate/site \
  --config.env STARGATE_DATA_DIR=/var/lib/stargate \
  --config.env STARGATE_LISTEN=0.0.0.0:3000 \
  --config.env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
  --config.exposedports 3000/tcp \
  --config.volume /var/lib/stargate \
  --config.label "org.opencontainers.image.title=stargate" \
  --config.label "org.opencontainers.image.version=$version" \
  --config.label "org.opencontainers.image.revision=$commit"
umoci gc --layout "$out/oci"
archive="$out/stargate-$version.oci.tar"
tar -C "$out/oci" -cf "$archive" .
layers=$(du -cb "$out"/oci/blobs/sha256/* | tail -1 | cut -f1)
echo "image stargate:$version (commit $commit): $(( layers / 1024 / 1024 )) MB compressed," \
  "$(du -sm "$work/bundle/rootfs" | cut -f1) MB unpacked; archive $archive" >&2
