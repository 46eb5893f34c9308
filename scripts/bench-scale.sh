#!/usr/bin/env bash
# Scan scaling on this machine: one scan pinned to 1 core vs 2 cores, and 2 shards
# (one per core) + merge, against the lab on loopback (realistic, seed 1).
#   scripts/bench-scale.sh [INPUT] [ROUNDS]     (needs target/release/stsmap)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
bin="${STSMAP_BIN:-$repo/target/release/stsmap}"
input="${1:-$repo/data/sample.csv}"
rounds="${2:-3}"
work="$(mktemp -d /tmp/stsmap-bench-scale.XXXX)"
port=$((20000 + RANDOM % 20000))
"$bin" lab serve --dns "127.0.0.1:$port" --https "127.0.0.1:$((port + 1))" --ca-out "$work/ca.pem" \
  >"$work/lab.log" 2>&1 &
lab=$!
trap 'kill $lab 2>/dev/null; wait $lab 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do [[ -s "$work/ca.pem" ]] && break; sleep 0.1; done
args=(--input "$input" --resolver "127.0.0.1:$port" --https-port "$((port + 1))" --ca-file "$work/ca.pem"
  --timeout 5 --quiet --force)
rate() { jq -r '"\(.domains) rows in \(.duration_s) s = \(.domains / .duration_s | floor) rows/s"' "$1/summary.json"; }
echo "input $(wc -l <"$input") lines; lab on 127.0.0.1:$port (unpinned); load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$rounds"); do
  taskset -c 0 "$bin" scan "${args[@]}" --out "$work/one" 2>/dev/null
  echo "round $r taskset -c 0   : $(rate "$work/one")"
  taskset -c 0,1 "$bin" scan "${args[@]}" --out "$work/two" 2>/dev/null
  echo "round $r taskset -c 0,1 : $(rate "$work/two")"
  t0=$(date +%s.%N)
  taskset -c 0 "$bin" scan "${args[@]}" --out "$work/s1" --shard 1/2 2>/dev/null &
  p1=$!
  taskset -c 1 "$bin" scan "${args[@]}" --out "$work/s2" --shard 2/2 2>/dev/null &
  p2=$!
  wait $p1 $p2
  t1=$(date +%s.%N)
  "$bin" merge --out "$work/m" --force "$work/s1" "$work/s2" 2>/dev/null
  t2=$(date +%s.%N)
  echo "round $r 2 shards (cpu 0 | cpu 1) + merge: shards $(echo "$t1 - $t0" | bc) s, merge $(echo "$t2 - $t1" | bc) s, $(jq .domains "$work/m/summary.json") rows"
done
echo "load after $(cut -d' ' -f1-3 /proc/loadavg)"
