#!/usr/bin/env bash
# The checkout benchmark: the release `ringup` server as its own process, HTTP load from wrk
# (another process), then the same sale through the use case without HTTP, then verification.
# Installs wrk when it is missing and this shell may (root, or sudo without a password);
# otherwise says how. Arguments go to `ringup-bench checkout` (see its --help).
#
#   bash scripts/bench-checkout.sh --seconds 10          # SQLite
#   BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test bash scripts/bench-checkout.sh
#     (the run gets a database of its own on that server, dropped afterwards)
#
# Honours CARGO_TARGET_DIR, as cargo does.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    apt-get install -y wrk || { apt-get update && apt-get install -y wrk; }
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo apt-get install -y wrk || { sudo apt-get update && sudo apt-get install -y wrk; }
  else
    echo "wrk is not installed and this shell cannot install it." >&2
    echo "Install it with: sudo apt-get install -y wrk   (Debian/Ubuntu; other systems: https://github.com/wg/wrk)" >&2
    exit 1
  fi
fi

cargo build --release --locked -q -p ringup -p ringup-bench
exec "${CARGO_TARGET_DIR:-target}/release/ringup-bench" checkout "$@"
