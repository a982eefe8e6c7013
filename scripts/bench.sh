#!/usr/bin/env bash
# make bench: the arm64 zips, release builds, moto server on 127.0.0.1, then one table of
# cold start, warm latency, memory, archive scan speed and artifact sizes,
# criterion's evaluation-only figures, and last the sweep against Prowler
# (scripts/bench_sweep.sh). Not part of the test command.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=".venv"
if [ ! -x "$VENV/bin/moto_server" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "moto[server]==5.2.5"
fi

# Cloud Custodian, pinned, in its own venv. Its package gets no .pyc files
# (as a Lambda package): the harness runs it with PYTHONDONTWRITEBYTECODE=1.
C7N_VENV=".venv-c7n"
C7N_VERSION="0.9.53"
if ! "$C7N_VENV/bin/python" -c "import c7n.version as v; assert v.version == '$C7N_VERSION'" 2>/dev/null; then
  python3 -m venv "$C7N_VENV"
  "$C7N_VENV/bin/pip" install --quiet --disable-pip-version-check "c7n==$C7N_VERSION"
fi
find "$C7N_VENV"/lib/python3*/site-packages -name __pycache__ -type d -prune -exec rm -rf {} +

echo "==> arm64 Lambda zips (make package)"
scripts/package.sh

echo "==> release builds"
cargo build --release --quiet -p ingress-guard -p task-definition-guard -p service-guard \
  -p access-guard-cli -p access-guard-bench --features access-guard-cli/aws

port=$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >/dev/null 2>&1 &
moto_pid=$!
trap 'kill "$moto_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  "$VENV/bin/python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/', timeout=1)" 2>/dev/null && break
  sleep 0.2
done

echo "==> moto $("$VENV/bin/python" -c 'import moto; print(moto.__version__)'), Cloud Custodian $C7N_VERSION"
echo "==> machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -m), $(rustc --version)"
export ACCESS_GUARD_TEST_ENDPOINT="http://127.0.0.1:$port" AWS_EC2_METADATA_DISABLED=true
target/release/access-guard-bench

echo "==> evaluation alone (criterion)"
cargo bench --quiet -p access-guard --bench evaluate -- --noplot 2>&1 | grep -E "time:|^[a-z]" || true

echo "==> secrets: access-guard against Kingfisher (scripts/bench_secrets.sh)"
scripts/bench_secrets.sh target/release/access-guard

echo "==> sweep: access-guard scan against Prowler (scripts/bench_sweep.sh)"
scripts/bench_sweep.sh "$port" target/release/access-guard
