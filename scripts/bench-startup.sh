#!/usr/bin/env bash
# Measures what a new user and an operator feel at start: cold start to the first /healthz 200
# (fresh data directory, so it includes creating the database, migrating it, generating the
# secret and hashing the first admin's password), warm start (existing database), idle RSS,
# and the release binary's size. Prints one line per figure; loopback only.
#
#   bash scripts/bench-startup.sh            # SQLite
#   BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test bash scripts/bench-startup.sh
#     (each run gets a database of its own on that server, dropped afterwards)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${RUNS:-5}"
cargo build --release --locked -q
BIN="${CARGO_TARGET_DIR:-target}/release/ringup"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

now_ms() { date +%s%3N; }

# Starts ringup in $1 (data dir), waits for /healthz 200, prints the milliseconds it took;
# leaves the process running with its pid in $work/pid.
start_and_wait() {
  local dir="$1" t0 t1
  t0=$(now_ms)
  RINGUP_BIND="127.0.0.1:$port" RINGUP_DATA_DIR="$dir" RINGUP_LOG=warn \
    RINGUP_ADMIN_PASSWORD='Bench-Startup-Password-42' DATABASE_URL="${run_db:-}" \
    "$BIN" >"$work/log" 2>&1 &
  echo $! >"$work/pid"
  for _ in $(seq 1 2000); do
    if curl -fs -o /dev/null "http://127.0.0.1:$port/healthz"; then
      t1=$(now_ms); echo $((t1 - t0)); return 0
    fi
    sleep 0.002
  done
  echo "ringup did not answer /healthz within 4 s" >&2; cat "$work/log" >&2; return 1
}

stop() { kill -TERM "$(cat "$work/pid")"; wait "$(cat "$work/pid")" 2>/dev/null || true; }

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

cold=(); warm=()
for i in $(seq 1 "$RUNS"); do
  dir="$work/data-$i"
  run_db=""
  if [ -n "${BENCH_POSTGRES_URL:-}" ]; then
    name="ringup_bench_$$_$i"
    psql "$BENCH_POSTGRES_URL" -qc "create database $name" >/dev/null
    run_db="${BENCH_POSTGRES_URL%/*}/$name"
  fi
  cold+=("$(start_and_wait "$dir")"); stop
  warm+=("$(start_and_wait "$dir")")
  if [ "$i" = "$RUNS" ]; then
    sleep 1
    rss_kib=$(awk '/VmRSS/ {print $2}' "/proc/$(cat "$work/pid")/status")
  fi
  stop
  [ -n "$run_db" ] && psql "$BENCH_POSTGRES_URL" -qc "drop database $name with (force)" >/dev/null
done
size=$(stat -c %s "$BIN")
if [ -n "${BENCH_POSTGRES_URL:-}" ]; then echo "engine: postgres"; else echo "engine: sqlite"; fi
echo "cold start to first /healthz 200 (median of $RUNS): $(printf '%s\n' "${cold[@]}" | median) ms  [runs: ${cold[*]}]"
echo "warm start to first /healthz 200 (median of $RUNS): $(printf '%s\n' "${warm[@]}" | median) ms  [runs: ${warm[*]}]"
echo "idle RSS after start: $((rss_kib / 1024)) MiB ($rss_kib KiB)"
echo "release binary: $((size / 1024 / 1024)) MiB ($size bytes)"
