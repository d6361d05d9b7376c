#!/usr/bin/env bash
# One command for munjigi's benchmark against node-oidc-provider. See bench/README.md.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

if ! command -v wrk >/dev/null; then
  echo "installing wrk from Debian" >&2
  if [ "$(id -u)" = 0 ]; then apt-get install -y -q wrk >/dev/null; else sudo apt-get install -y -q wrk >/dev/null; fi
fi

cargo build --release --quiet
(cd bench/driver && cargo build --release --quiet)
exec python3 bench/run.py "$@"
