#!/usr/bin/env bash
# Checks the monitoring files under deploy/: the Prometheus alert rules parse
# (`promtool check rules`) and behave as their tests say (`promtool test rules`, a firing and a
# quiet case per rule), and the Grafana dashboard is well-formed JSON whose every query is valid
# PromQL (each is checked by promtool as a recording rule, Grafana's variables replaced).
#
#   bash scripts/check-alerts.sh
#
# promtool comes with Debian's `prometheus` package (`apt-get install prometheus`); .ci/run
# installs it. Exits non-zero, naming the file, on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v promtool >/dev/null 2>&1; then
  echo "promtool is not installed (Debian: apt-get install prometheus)" >&2
  exit 1
fi

promtool check rules deploy/prometheus/alerts.yml
# Rule files in a test are found relative to the test file.
(cd deploy/prometheus && promtool test rules alerts_test.yml)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - deploy/grafana/ringup.json "$work/dashboard-rules.yml" <<'PY'
import json, sys

path, out = sys.argv[1], sys.argv[2]
try:
    with open(path) as f:
        dashboard = json.load(f)
except ValueError as e:
    sys.exit(f"{path} is not well-formed JSON: {e}")

exprs = []
for panel in dashboard.get("panels", []):
    for target in panel.get("targets", []):
        if "expr" not in target:
            sys.exit(f"{path}: panel {panel.get('title')!r} has a target without `expr`")
        exprs.append((panel.get("title"), target["expr"]))
if not exprs:
    sys.exit(f"{path} has no queries")
variables = {"$__rate_interval": "5m", "$instance": ".*", "$store": ".*"}
with open(out, "w") as f:
    f.write("groups:\n  - name: dashboard\n    rules:\n")
    for n, (title, expr) in enumerate(exprs):
        for name, value in variables.items():
            expr = expr.replace(name, value)
        if "$" in expr:
            sys.exit(f"{path}: panel {title!r} uses an unknown variable: {expr}")
        f.write(f"      - record: dashboard:query_{n}\n        expr: {json.dumps(expr)}\n")
print(f"{path}: well-formed JSON, {len(exprs)} queries")
PY
promtool check rules "$work/dashboard-rules.yml" >/dev/null \
  || { echo "deploy/grafana/ringup.json: a query is not valid PromQL (above)" >&2; exit 1; }
echo "deploy/grafana/ringup.json: every query is valid PromQL"
