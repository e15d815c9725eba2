#!/usr/bin/env bash
# Checks the deployment files that this machine can check without a container engine:
# - deploy/ringup.service: systemd's own offline security analysis must rate it 2.0 or better
#   ("OK"), and every directive must parse;
# - compose.yaml: valid YAML with the three services, ringup waiting for healthy dependencies;
# - Dockerfile: runs as a non-root user, has a health check and the data directory as a volume.
# The image itself is not built here: no container engine runs on this machine and no image
# registry is reachable (README, "Deploying").
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "systemd-analyze is missing (Debian package systemd)" >&2
  exit 1
fi
out=$(systemd-analyze security --offline=yes --threshold=20 deploy/ringup.service 2>&1) || {
  echo "$out" >&2
  echo "deploy/ringup.service: exposure above 2.0" >&2
  exit 1
}
echo "$out" | tail -1
if echo "$out" | grep -qi "unknown key\|failed to parse\|ignoring"; then
  echo "$out" >&2
  echo "deploy/ringup.service: a directive does not parse" >&2
  exit 1
fi

python3 - <<'PY'
import sys
try:
    import yaml
except ImportError:
    sys.exit("PyYAML is missing (pip install pyyaml)")
doc = yaml.safe_load(open("compose.yaml"))
services = doc["services"]
assert set(services) == {"postgres", "redis", "ringup"}, services.keys()
ringup = services["ringup"]
assert ringup["depends_on"]["postgres"]["condition"] == "service_healthy"
assert ringup["environment"]["DATABASE_URL"].startswith("postgres://")
assert any(v.endswith(":/var/lib/ringup") for v in ringup["volumes"])
for name in ("postgres", "redis"):
    assert "healthcheck" in services[name], name
print("compose.yaml: ok (postgres, redis, ringup waiting for both to be healthy)")
PY

grep -q '^USER 10001' Dockerfile || { echo "Dockerfile: not a non-root USER" >&2; exit 1; }
grep -q '^HEALTHCHECK ' Dockerfile || { echo "Dockerfile: no HEALTHCHECK" >&2; exit 1; }
grep -q '^VOLUME \["/var/lib/ringup"\]' Dockerfile || { echo "Dockerfile: no data volume" >&2; exit 1; }
grep -q 'RINGUP_DATA_DIR=/var/lib/ringup' Dockerfile || { echo "Dockerfile: data dir not the volume" >&2; exit 1; }
echo "Dockerfile: ok (non-root, health check, data volume)"
