#!/usr/bin/env bash
# Side-by-side speed of the lab's DNS server and NSD on the same zone and query mix.
#
# Exports the lab world's zone for N domains, loads it into NSD, starts the lab server,
# and runs dnsperf against each in turn (NSD, lab, NSD, lab, ...), all on loopback.
# Prints each run's queries/s and the server's CPU time per answered query (user+sys of every
# server process, from /proc: a figure the other load on a shared machine disturbs less),
# the means, and lab/NSD.
#
# usage: scripts/bench-lab-dns.sh [-n DOMAINS] [-l SECONDS] [-r ROUNDS] [-c CLIENTS]
#                                 [-q OUTSTANDING] [-w SERVER_THREADS] [-i LIST]
set -euo pipefail

cd "$(dirname "$0")/.."
. scripts/lib-nsd.sh
DOMAINS=10000
SECONDS_PER_RUN=5
ROUNDS=4
CLIENTS=32
OUTSTANDING=500
THREADS=2
LIST=
while getopts "n:l:r:c:q:w:i:" opt; do
  case $opt in
    n) DOMAINS=$OPTARG ;;
    l) SECONDS_PER_RUN=$OPTARG ;;
    r) ROUNDS=$OPTARG ;;
    c) CLIENTS=$OPTARG ;;
    q) OUTSTANDING=$OPTARG ;;
    w) THREADS=$OPTARG ;;
    i) LIST=$OPTARG ;;
    *) sed -n '2,10p' "$0"; exit 2 ;;
  esac
done
if [ -z "$LIST" ]; then
  if [ -f data/sample.csv ]; then LIST=data/sample.csv
  else LIST=/work/shared/data/lists/kmikholap-dns-gen_top-1m_50k.csv; fi
fi
for tool in nsd nsd-checkzone dnsperf; do
  command -v "$tool" >/dev/null || { echo "bench-lab-dns: $tool is not installed" >&2; exit 1; }
done

NSD_PORT=${NSD_PORT:-25353}
LAB_PORT=${LAB_PORT:-25354}
TMP=$(mktemp -d /tmp/bench-lab-dns.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

echo "== build (release)"
cargo build --release --quiet
BIN=target/release/stsmap

echo "== zone and queries for $DOMAINS domains of $LIST"
head -n "$DOMAINS" "$LIST" > "$TMP/list.csv"
"$BIN" lab zone --input "$TMP/list.csv" --out "$TMP/lab.zone"
nsd-checkzone . "$TMP/lab.zone"
# The scan's query mix, per domain: MX, the two TXT records, the policy host's address.
tr -d '\r' < "$TMP/list.csv" | awk -F, 'NF { d = tolower($NF); sub(/\.$/, "", d);
  if (d ~ /\./ && d != "domain") {
    print d " MX"; print "_mta-sts." d " TXT"; print "_smtp._tls." d " TXT"; print "mta-sts." d " A" } }' \
  > "$TMP/queries.txt"
echo "$(wc -l < "$TMP/queries.txt") queries in the file"

nsd_conf "$TMP" "$NSD_PORT" "$TMP/lab.zone" "$THREADS"

echo "== start NSD on 127.0.0.1:$NSD_PORT and the lab on 127.0.0.1:$LAB_PORT ($THREADS each)"
nsd -d -c "$TMP/nsd.conf" &
PIDS+=($!)
"$BIN" lab serve --dns "127.0.0.1:$LAB_PORT" --udp-sockets "$THREADS" > "$TMP/lab.log" &
LAB_PID=$!
PIDS+=($LAB_PID)
# Wait until both answer.
for port in "$NSD_PORT" "$LAB_PORT"; do
  for _ in $(seq 100); do
    if dig +time=1 +tries=1 +short @127.0.0.1 -p "$port" . SOA >/dev/null 2>&1; then break; fi
    sleep 0.1
  done
  dig +time=1 +tries=1 @127.0.0.1 -p "$port" . SOA | grep -q "status: NOERROR" \
    || { echo "server on port $port does not answer" >&2; cat "$TMP/nsd.log" >&2 || true; exit 1; }
done
# Same answers from both for a few sample queries (the TTL and order aside).
sample=$(head -n 40 "$TMP/queries.txt")
while read -r name type; do
  a=$(dig +norec +noall +answer @127.0.0.1 -p "$NSD_PORT" "$name" "$type" | awk '{$2=""; print}' | sort)
  b=$(dig +norec +noall +answer @127.0.0.1 -p "$LAB_PORT" "$name" "$type" | awk '{$2=""; print}' | sort)
  [ "$a" = "$b" ] || { echo "answers differ for $name $type:"; echo "nsd: $a"; echo "lab: $b"; exit 1; }
done <<< "$sample"
echo "answers agree on $(echo "$sample" | wc -l) sample queries"

TCK=$(getconf CLK_TCK)
cpu_ticks() { # pids...: user+sys clock ticks of these processes (all their threads)
  local t=0 p
  for p in "$@"; do
    [ -r "/proc/$p/stat" ] && t=$((t + $(sed 's/^.*) //' "/proc/$p/stat" | awk '{ print $12 + $13 }')))
  done
  echo "$t"
}
server_pids() { # name
  if [ "$1" = nsd ]; then pgrep -f "nsd -d -c $TMP/nsd.conf"; else echo "$LAB_PID"; fi
}

run() { # name port
  local pids before after
  pids=$(server_pids "$1")
  # shellcheck disable=SC2086
  before=$(cpu_ticks $pids)
  dnsperf -s 127.0.0.1 -p "$2" -d "$TMP/queries.txt" -l "$SECONDS_PER_RUN" -c "$CLIENTS" -q "$OUTSTANDING" \
    > "$TMP/dnsperf-$1.out" 2>&1
  # shellcheck disable=SC2086
  after=$(cpu_ticks $pids)
  local qps lost done us
  qps=$(awk '/Queries per second:/ { print $4 }' "$TMP/dnsperf-$1.out")
  lost=$(awk '/Queries lost:/ { print $3 }' "$TMP/dnsperf-$1.out")
  done=$(awk '/Queries completed:/ { print $3 }' "$TMP/dnsperf-$1.out")
  us=$(awk -v t=$((after - before)) -v k="$TCK" -v n="$done" 'BEGIN { printf "%.2f", t / k * 1e6 / n }')
  echo "$1 $qps $us" >> "$TMP/results"
  printf '%-4s %10.0f q/s  %6s us CPU/query  (lost %s)\n' "$1" "$qps" "$us" "$lost"
}

echo "== dnsperf: $ROUNDS rounds x ${SECONDS_PER_RUN}s each, $CLIENTS clients, $OUTSTANDING outstanding"
for _ in $(seq "$ROUNDS"); do
  run nsd "$NSD_PORT"
  run lab "$LAB_PORT"
done
uptime
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
mn=$(awk '$1 == "nsd" { print $2 }' "$TMP/results" | median)
ml=$(awk '$1 == "lab" { print $2 }' "$TMP/results" | median)
awk -v n="$mn" -v l="$ml" 'BEGIN { printf "median q/s:        nsd %.0f, lab %.0f, lab/nsd = %.3f\n", n, l, l / n }'
awk '{ s[$1] += $2; c[$1] += $3; n[$1]++ } END {
  nsd = s["nsd"] / n["nsd"]; lab = s["lab"] / n["lab"];
  cn = c["nsd"] / n["nsd"]; cl = c["lab"] / n["lab"];
  printf "mean q/s:          nsd %.0f, lab %.0f, lab/nsd = %.3f\n", nsd, lab, lab / nsd;
  printf "mean CPU us/query: nsd %.2f, lab %.2f, nsd/lab = %.3f (above 1: lab cheaper)\n", cn, cl, cn / cl }' "$TMP/results"
