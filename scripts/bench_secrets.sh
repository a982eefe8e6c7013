#!/usr/bin/env bash
# The secrets benchmark (part of make bench): one corpus of well-formed fake
# credentials of some thirty kinds and of benign look-alikes
# (bench/secrets/corpus.py, generated at run time: no credential-shaped
# literal is committed), scanned by Kingfisher (pinned, own venv,
# --no-validate) and by `access-guard check` (a task definition per sample),
# today's and, for comparison, the CLI of BEFORE (the commit before the
# formats table). Prints one table per sample and the recall / false-positive
# totals (bench/secrets/score.py).
#
#   scripts/bench_secrets.sh [CLI]      (CLI: target/release/access-guard)
set -euo pipefail
cd "$(dirname "$0")/.."

cli=${1:-target/release/access-guard}
out=target/secrets
BEFORE=5344782

KF_VENV=".venv-kingfisher"
KF_VERSION="2.14.0"
if ! "$KF_VENV/bin/python" -c "import importlib.metadata as m; assert m.version('kingfisher-bin') == '$KF_VERSION'" 2>/dev/null; then
  python3 -m venv "$KF_VENV"
  "$KF_VENV/bin/pip" install --quiet --disable-pip-version-check "kingfisher-bin==$KF_VERSION"
fi

if [ ! -x "$cli" ]; then
  echo "bench_secrets: no CLI at $cli (cargo build --release -p access-guard-cli)" >&2
  exit 1
fi

# The CLI before the formats table, built once into its own target directory.
before_cli="$out/before/target/release/access-guard"
if [ ! -x "$before_cli" ]; then
  rm -rf "$out/before"
  mkdir -p "$out/before"
  git archive "$BEFORE" | tar -x -C "$out/before"
  (cd "$out/before" && CARGO_TARGET_DIR="$PWD/target" cargo build --release --quiet -p access-guard-cli)
fi

rm -rf "$out/corpus"
python3 bench/secrets/corpus.py "$out/corpus"
"$KF_VENV/bin/kingfisher" scan "$out/corpus/kingfisher" --no-validate --format json >"$out/kingfisher.json" 2>/dev/null || true
"$cli" check --format json "$out/corpus/events" >"$out/ours.jsonl" || true
"$before_cli" check --format json "$out/corpus/events" >"$out/before.jsonl" || true
echo "==> secrets: Kingfisher $KF_VERSION, access-guard, and access-guard at $BEFORE on the same corpus"
python3 bench/secrets/score.py "$out/corpus" "$out/kingfisher.json" "$out/ours.jsonl" "$out/before.jsonl"
