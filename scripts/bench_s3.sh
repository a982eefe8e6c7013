#!/usr/bin/env bash
# `access-guard check s3://…` against moto's S3, beside the same files read
# from disk and the `gzip -dc` floor of the same bytes.
#
#   scripts/bench_s3.sh PORT [CLI]
#
# PORT: a running moto server on 127.0.0.1; start one with
#   .venv/bin/moto_server -H 127.0.0.1 -p PORT
# CLI: a release build with the `aws` feature, target/release/access-guard by
# default (cargo build --release -p access-guard-cli --features aws).
#
# bench/s3_trail.py writes a trail (S3_BENCH_MB of JSON, default 256, in
# CloudTrail's key layout: 2 accounts, 2 regions, a day each, 5 MB log
# files gzipped) to target/s3-bench/ and to a new bucket. Each reader runs
# S3_RUNS times (default 3): best wall time and the highest peak RSS (GNU
# time). MB/s is of the uncompressed JSON.
set -euo pipefail
cd "$(dirname "$0")/.."

port=${1:?usage: scripts/bench_s3.sh PORT [CLI]}
cli=${2:-target/release/access-guard}
endpoint="http://127.0.0.1:$port"
runs=${S3_RUNS:-3}
dir=target/s3-bench
export AWS_ENDPOINT_URL="$endpoint" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
  AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true

read -r bucket mb objects < <(.venv/bin/python bench/s3_trail.py "$endpoint" "$dir" "${S3_BENCH_MB:-256}")
echo "trail: s3://$bucket/AWSLogs/ and $dir/AWSLogs: $objects objects, $mb MB of JSON, $(du -sb "$dir/AWSLogs" | cut -f1) bytes gzipped"

# Best wall time (s) and highest peak RSS (KiB) of `runs` runs of a command.
timed() {
  local best="" peak=0 t m stats
  stats=$(mktemp)
  for _ in $(seq 1 "$runs"); do
    /usr/bin/time -f "%e %M" -o "$stats" "$@" > /dev/null 2> /dev/null || true
    read -r t m < "$stats"
    if [ -z "$best" ] || awk "BEGIN {exit !($t < $best)}"; then best=$t; fi
    if [ "$m" -gt "$peak" ]; then peak=$m; fi
  done
  rm -f "$stats"
  echo "$best $peak"
}

row() {
  local name=$1; shift
  read -r t m < <(timed "$@")
  awk -v n="$name" -v t="$t" -v m="$m" -v mb="$mb" \
    'BEGIN {printf "| %s | %.2f s | %.0f MB/s | %.1f MiB |\n", n, t, mb / t, m / 1024}'
}

echo
echo "| reader | best time | MB/s | peak RSS |"
echo "| --- | --- | --- | --- |"
row "gzip -dc of the files (the floor)" sh -c "find $dir/AWSLogs -name '*.gz' -print0 | sort -z | xargs -0 cat | gzip -dc"
row "check, disk, 1 thread" "$cli" check --jobs 1 --format json "$dir/AWSLogs"
row "check, disk, 4 threads" "$cli" check --jobs 4 --format json "$dir/AWSLogs"
row "check s3://, 1 thread" "$cli" check --jobs 1 --format json "s3://$bucket/AWSLogs/"
row "check s3://, 4 threads" "$cli" check --jobs 4 --format json "s3://$bucket/AWSLogs/"

# The retro-scan function's handler (access-guard-retro-bench, a release
# build of the bench crate) over the same bucket, batches of 10 objects one
# after another in one process, as one Lambda instance takes them: the
# per-Lambda throughput the Distributed Map's figures in BENCHMARKS.md use.
retro=${RETRO_BENCH:-target/release/access-guard-retro-bench}
if [ -x "$retro" ]; then
  row "retro-scan handler, batches of 10, 1 thread" sh -c "$retro $bucket AWSLogs/ retro-results-\$\$-\$(date +%s%N) 10"
fi
