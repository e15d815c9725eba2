#!/usr/bin/env bash
# What the report rollups cost the till: the checkout benchmark over HTTP against the release
# server of this checkout and against the same server built from a revision without rollups,
# alternated (baseline, current, baseline, current) in one run so both see the same machine.
# The ceiling phases are skipped; everything else is `ringup-bench checkout` (see
# scripts/bench-checkout.sh), and arguments after the revision go to it.
#
#   bash scripts/bench-rollup-cost.sh                      # SQLite, baseline c11801e
#   bash scripts/bench-rollup-cost.sh c11801e --seconds 10
#   BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test bash scripts/bench-rollup-cost.sh
#
# The baseline is built once into target/baseline-<rev> (a git worktree of <rev>, removed
# afterwards); later runs reuse it.
set -euo pipefail
cd "$(dirname "$0")/.."

# The last commit before sales, voids and returns wrote rollups.
BASELINE="${1:-c11801e}"
[ "$#" -gt 0 ] && shift

command -v wrk >/dev/null 2>&1 || bash -c 'apt-get install -y wrk || { apt-get update && apt-get install -y wrk; }'

target="${CARGO_TARGET_DIR:-target}"
cargo build --release --locked -q -p ringup -p ringup-bench

baseline_dir="$(pwd)/target/baseline-${BASELINE}"
if [ ! -f "$baseline_dir/built" ]; then
  # Seeded with this checkout's release build, so only the workspace's own crates compile.
  mkdir -p "$baseline_dir"
  [ -d "$baseline_dir/release" ] || cp -a "$target/release" "$baseline_dir/release"
  tree="$(mktemp -d)/ringup-${BASELINE}"
  git worktree add --detach "$tree" "$BASELINE" >/dev/null
  ( cd "$tree" && CARGO_TARGET_DIR="$baseline_dir" cargo build --release --locked -q -p ringup )
  git worktree remove --force "$tree"
  echo "$BASELINE" > "$baseline_dir/built"
fi

summary=()
for round in 1 2; do
  for which in baseline current; do
    if [ "$which" = baseline ]; then bin="$baseline_dir/release/ringup"; else bin="$target/release/ringup"; fi
    echo "==> round $round: $which ($bin)"
    out="$("$target/release/ringup-bench" checkout --no-ceiling --ringup-bin "$bin" "$@" | tee /dev/stderr)"
    line="$(printf '%s\n' "$out" | grep -m1 -E '^checkout [a-z]+: ' || true)"
    summary+=("round $round $which: $line")
  done
done
echo
echo "summary (the closing line of each run):"
printf '  %s\n' "${summary[@]}"
