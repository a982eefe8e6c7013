#!/usr/bin/env bash
# The project's test command (README, `make test`, CI): formatting, lints, then
# every test, with moto server started here on 127.0.0.1 and stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

MOTO_VERSION="5.2.5"
VENV=".venv"

if [ ! -x "$VENV/bin/moto_server" ] || ! "$VENV/bin/python" -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
  echo "==> installing moto[server]==$MOTO_VERSION into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
fi

echo "==> cargo fmt --check"
cargo fmt --all -- --check

echo "==> cargo clippy -D warnings"
cargo clippy --workspace --all-targets --quiet -- -D warnings

port=$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log=$(mktemp -t moto.XXXXXX.log)
echo "==> moto server on 127.0.0.1:$port (log: $log)"
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
moto_pid=$!
trap 'kill "$moto_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  if "$VENV/bin/python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/', timeout=1)" 2>/dev/null; then
    break
  fi
  if ! kill -0 "$moto_pid" 2>/dev/null; then
    echo "moto server did not start:"; cat "$log"; exit 1
  fi
  sleep 0.2
done

echo "==> cargo test"
export ACCESS_GUARD_TEST_ENDPOINT="http://127.0.0.1:$port"
export AWS_EC2_METADATA_DISABLED=true
cargo test --workspace --quiet --no-fail-fast "$@"
