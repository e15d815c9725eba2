#!/usr/bin/env bash
# What the report rollups cost the till: the checkout benchmark over HTTP against the release
# server of this checkout and against the same server built from a revision without rollups,
# alternated (baseline, current, current, baseline) in one run so both see the same machine.
# Each build runs its own `ringup-bench checkout` (its seeding and direct phase speak its own
# schema); the ceiling phases are skipped, and arguments after the revision go to both.
#
#   bash scripts/bench-rollup-cost.sh                      # SQLite, baseline c11801e
#   bash scripts/bench-rollup-cost.sh c11801e --seconds 10
#   BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test bash scripts/bench-rollup-cost.sh
#
# The baseline (server and bench) is built once into target/baseline-<rev> (a git worktree of
# <rev>, removed afterwards), seeded with this checkout's release build; later runs reuse it.
set -euo pipefail
cd "$(dirname "$0")/.."

# The last commit before sales, voids and returns wrote rollups.
BASELINE="${1:-c11801e}"
[ "$#" -gt 0 ] && shift

command -v wrk >/dev/null 2>&1 || bash -c 'apt-get install -y wrk || { apt-get update && apt-get install -y wrk; }'

target="$(mkdir -p "${CARGO_TARGET_DIR:-target}" && cd "${CARGO_TARGET_DIR:-target}" && pwd)"
cargo build --release --locked -q -p ringup -p ringup-bench

baseline_dir="$(pwd)/target/baseline-${BASELINE}"
if [ ! -f "$baseline_dir/built-$BASELINE" ]; then
  # Seeded with this checkout's release build, so only the workspace's own crates compile.
  mkdir -p "$baseline_dir"
  [ -d "$baseline_dir/release" ] || cp -a "$target/release" "$baseline_dir/release"
  tree="$(mktemp -d)/ringup-${BASELINE}"
  git worktree add --detach "$tree" "$BASELINE" >/dev/null
  ( cd "$tree" && CARGO_TARGET_DIR="$baseline_dir" cargo build --release --locked -q -p ringup -p ringup-bench )
  git worktree remove --force "$tree"
  touch "$baseline_dir/built-$BASELINE"
fi

summary=()
# ABBA: the machine drifts over a run (PostgreSQL's tables and WAL grow, caches warm), and
# baseline-then-current in every round would give every drift to the current build.
for round in 1 2; do
  if [ "$round" = 1 ]; then order="baseline current"; else order="current baseline"; fi
  for which in $order; do
    # Each build is measured by its own bench (its seeding and direct phase use its schema).
    if [ "$which" = baseline ]; then dir="$baseline_dir/release"; else dir="$target/release"; fi
    echo "==> round $round: $which ($dir)"
    out="$("$dir/ringup-bench" checkout --no-ceiling --ringup-bin "$dir/ringup" "$@" | tee /dev/stderr)"
    line="$(printf '%s\n' "$out" | grep -m1 -E '^checkout [a-z]+: ' || true)"
    summary+=("round $round $which: $line")
  done
done
echo
echo "summary (the closing line of each run):"
printf '  %s\n' "${summary[@]}"
