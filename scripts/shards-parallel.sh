#!/usr/bin/env bash
# N shards on one VM with GNU parallel, then one merge.
#   scripts/shards-parallel.sh INPUT OUT_DIR N -- [scan flags, e.g. --resolver 127.0.0.1:53]
# Each shard is its own process with its own DNS sockets and limits: divide the
# per-resolver qps and concurrency you would give one process by N (docs/scale.md).
set -euo pipefail
input=$1 out=$2 n=$3
shift 3
[[ "${1:-}" == -- ]] && shift
bin="${STSMAP_BIN:-stsmap}"
mkdir -p "$out"
if command -v parallel >/dev/null; then
  parallel --halt now,fail=1 --line-buffer --tagstring 'shard {}' \
    "$bin" scan --input "$input" --out "$out/shard-{}" --shard "{}/$n" --quiet "$@" ::: $(seq 1 "$n")
else # same thing with xargs when GNU parallel is not installed
  seq 1 "$n" | xargs -P "$n" -I{} "$bin" scan --input "$input" --out "$out/shard-{}" --shard "{}/$n" --quiet "$@"
fi
"$bin" merge --out "$out/merged" "$out"/shard-*
