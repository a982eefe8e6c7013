#!/usr/bin/env bash
# Builds one arm64 Lambda zip per function with cargo-lambda:
#   target/lambda/<function>/bootstrap.zip
# cargo-lambda and zig (for cross builds) come from PyPI into .venv.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=".venv"
# Every crate under functions/ is a function.
FUNCTIONS=()
for dir in functions/*/; do FUNCTIONS+=("$(basename "$dir")"); done

if [ ! -x "$VENV/bin/cargo-lambda" ]; then
  echo "==> installing cargo-lambda and ziglang into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check cargo-lambda ziglang
fi
export PATH="$PWD/$VENV/bin:$PATH"
rustup target list --installed | grep -qx aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu

rm -rf target/lambda
for f in "${FUNCTIONS[@]}"; do
  echo "==> $f"
  cargo lambda build --release --arm64 --output-format zip -p "$f"
done
echo "==> artifacts"
for f in "${FUNCTIONS[@]}"; do
  ls -l "target/lambda/$f/bootstrap.zip" | awk -v f="$f" '{printf "%-24s %8.2f MB  %s\n", f, $5/1048576, $NF}'
done
