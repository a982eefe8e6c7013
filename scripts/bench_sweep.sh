#!/usr/bin/env bash
# The sweep benchmark: `access-guard scan` against Prowler on one estate in moto.
#
#   scripts/bench_sweep.sh PORT [CLI]
#
# PORT: a running moto server on 127.0.0.1 (its state is reset once per size).
# CLI: the release build, target/release/access-guard by default.
# scripts/bench.sh calls it last, with its own moto; alone, start one with
#   .venv/bin/moto_server -H 127.0.0.1 -p PORT
#
# For each size: reset moto, create the estate (bench/sweep/estate.py), time
# moto's own answers to the scan's reads (bench/sweep/moto_reads.py, best of
# 3), run the scan SCAN_RUNS times (best wall time, highest peak RSS), run
# Prowler once, and compare their findings (bench/sweep/parity.py). Wall time
# and peak RSS come from GNU time (see timed below). Everything lands in
# target/sweep/<groups>/; the table also in target/sweep/results.json.
#
# SWEEP_SIZES (default "200 2000"), SWEEP_PROWLER_SIZES (default the same, empty for none;
# Prowler takes a minute or two per size), SCAN_RUNS (default 3),
# SWEEP_SCAN=0 to leave the scan out (before it is built),
# SWEEP_LOAD_BALANCERS (default 50: application load balancers with their
# target groups, listeners and rules, DESIGN §14), SWEEP_BEFORE_CLI (an
# earlier build of the CLI, run SCAN_RUNS times on the same estate right
# after the scan: the before-and-after table).
set -euo pipefail
cd "$(dirname "$0")/.."

port=${1:?usage: scripts/bench_sweep.sh PORT [CLI]}
cli=${2:-target/release/access-guard}
endpoint="http://127.0.0.1:$port"
sizes=${SWEEP_SIZES:-200 2000}
prowler_sizes=${SWEEP_PROWLER_SIZES-$sizes}
export SCAN_RUNS=${SCAN_RUNS:-3}
run_scan=${SWEEP_SCAN:-1}
load_balancers=${SWEEP_LOAD_BALANCERS:-50}
before_cli=${SWEEP_BEFORE_CLI:-}
out=target/sweep

VENV=".venv"
if [ ! -x "$VENV/bin/moto_server" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "moto[server]==5.2.5"
fi

# Prowler, pinned, in its own venv (about 2.3 GB with its cloud SDKs).
PROWLER_VENV=".venv-prowler"
export PROWLER_VERSION="5.46.0"
if [ -n "${prowler_sizes// }" ] && ! "$PROWLER_VENV/bin/python" -c "import importlib.metadata as m; assert m.version('prowler') == '$PROWLER_VERSION'" 2>/dev/null; then
  python3 -m venv "$PROWLER_VENV"
  "$PROWLER_VENV/bin/pip" install --quiet --disable-pip-version-check "prowler==$PROWLER_VERSION"
fi

if [ "$run_scan" = 1 ] && [ ! -x "$cli" ]; then
  echo "bench_sweep: no CLI at $cli (build it: cargo build --release -p access-guard-cli --features aws)" >&2
  exit 1
fi

# timed FILE CMD...: appends "seconds peak-KiB" for one run of CMD to FILE;
# returns CMD's status. GNU time when there is one; else the process's own
# high-water mark (VmHWM) polled from /proc, not wait4 of a child forked from
# Python (that child's maxrss starts at the Python harness's size).
timed() {
  local file=$1
  shift
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -a -o "$file" -f '%e %M' "$@"
  else
    "$VENV/bin/python" - "$file" "$@" <<'EOF'
import os, subprocess, sys, time
started = time.perf_counter()
child = subprocess.Popen(sys.argv[2:])
peak = 0
while True:
    pid, status = os.waitpid(child.pid, os.WNOHANG)
    if pid:
        break
    try:
        with open(f"/proc/{child.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
    except OSError:
        pass
    time.sleep(0.005)
seconds = time.perf_counter() - started
with open(sys.argv[1], "a") as f:
    f.write(f"{seconds:.2f} {peak}\n")
sys.exit(os.waitstatus_to_exitcode(status))
EOF
  fi
}

# The environment both tools see: moto for every AWS endpoint, fake keys.
aws_env=(env AWS_ENDPOINT_URL="$endpoint" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
  AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true)

echo "==> sweep: access-guard scan against Prowler $PROWLER_VERSION, moto $("$VENV/bin/python" -c 'import moto; print(moto.__version__)') at $endpoint"
for size in $sizes; do
  dir="$out/$size"
  rm -rf "$dir"
  mkdir -p "$dir"
  "$VENV/bin/python" -c "import urllib.request as u; u.urlopen(u.Request('$endpoint/moto-api/reset', method='POST'), timeout=30)"
  "$VENV/bin/python" bench/sweep/estate.py --endpoint "$endpoint" --groups "$size" \
    --load-balancers "$load_balancers" > "$dir/estate.json"
  echo "    $size groups: estate created in $("$VENV/bin/python" -c "import json; print(json.load(open('$dir/estate.json'))['seconds'])") s"
  "$VENV/bin/python" bench/sweep/moto_reads.py --endpoint "$endpoint" > "$dir/moto_reads.json"

  # scan NAME CLI [FORMAT [OUT]]: SCAN_RUNS runs of CLI's scan into $dir/NAME.*
  scan() {
    local name=$1 bin=$2 format=${3:-json}
    local output=${4:-$name.jsonl}
    for _ in $(seq 1 "$SCAN_RUNS"); do
      status=0
      timed "$dir/$name.time" "${aws_env[@]}" "$bin" scan --region us-east-1 --format "$format" \
        > "$dir/$output" 2> "$dir/$name.stderr" || status=$?
      # 0: no finding reached --fail-on; 1: one did (a result, not an error).
      if [ "$status" -gt 1 ]; then
        echo "bench_sweep: $bin scan failed (exit $status) at $size groups:" >&2
        tail -20 "$dir/$name.stderr" >&2
        exit 1
      fi
    done
  }
  if [ "$run_scan" = 1 ]; then
    scan scan "$cli"
    if [ -n "$before_cli" ]; then
      scan scan-before "$before_cli"
    fi
    # The access map as the HTML report: the same reads, the map drawn and
    # written (its time and the reads' are on stderr).
    scan map "$cli" html map.html
  fi

  case " $prowler_sizes " in
    *" $size "*)
      echo "    $size groups: Prowler (a minute or two)"
      status=0
      timed "$dir/prowler.time" "${aws_env[@]}" "$PROWLER_VENV/bin/prowler" aws \
        --service ec2 ecs --region us-east-1 --scan-unused-services \
        --output-formats json-ocsf --output-directory "$dir/prowler" --output-filename prowler \
        --no-banner --no-color --ignore-exit-code-3 \
        > "$dir/prowler.stdout" 2> "$dir/prowler.stderr" || status=$?
      if [ "$status" -ne 0 ]; then
        echo "bench_sweep: Prowler failed (exit $status) at $size groups:" >&2
        tail -20 "$dir/prowler.stderr" >&2
        exit 1
      fi
      ;;
  esac
done

echo
python3 bench/sweep/table.py "$out" $sizes
for size in $sizes; do
  if [ -f "$out/$size/scan.jsonl" ] && [ -f "$out/$size/prowler/prowler.ocsf.json" ]; then
    echo
    echo "==> parity at $size groups (Prowler FAILs answered by a finding of the scan on the same resource)"
    python3 bench/sweep/parity.py --prowler "$out/$size/prowler/prowler.ocsf.json" \
      --scan "$out/$size/scan.jsonl" | tee "$out/$size/parity.md"
  fi
done
