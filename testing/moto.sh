#!/usr/bin/env bash
# Starts moto (an AWS emulator; EKS, STS, ...) in server mode on 127.0.0.1 for the tests.
#   testing/moto.sh [PORT]     PORT defaults to 0 (a free port chosen by the OS)
# The first run creates a virtualenv in the user's cache with the pinned moto; later runs reuse it.
# moto prints " * Running on http://127.0.0.1:PORT" on stderr once it listens (the real port,
# also when 0 was asked for); tests read that line.
set -euo pipefail

MOTO_VERSION=5.2.5
venv="${XDG_CACHE_HOME:-$HOME/.cache}/stargate-moto-venv"

if [ ! -x "$venv/bin/moto_server" ] || ! "$venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('moto') != '$MOTO_VERSION')" 2>/dev/null; then
    echo "moto.sh: installing moto[server]==$MOTO_VERSION into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" >&2
fi

exec "$venv/bin/moto_server" -H 127.0.0.1 -p "${1:-0}"
