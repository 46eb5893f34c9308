#!/usr/bin/env bash
# DNS engine benchmark (not a timed test): NSD serves the lab world's zone on loopback;
# dnsperf and the stsmap engine (examples/dns_bench.rs) send the same query mix
# (MX, _mta-sts TXT, _smtp._tls TXT per domain) to the same server in the same run.
# Reports answered q/s for both, the ratio, lost and misattributed answers, peak RSS.
#
#   scripts/bench-dns.sh [DOMAINS] [IN_FLIGHT]      (defaults: 300000 2000)
#
# Needs: nsd, dnsperf, /usr/bin/time. Everything stays on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

DOMAINS=${1:-300000}
IN_FLIGHT=${2:-2000}
PORT=${BENCH_DNS_PORT:-55353}
WORK=${BENCH_DNS_DIR:-$(mktemp -d /tmp/stsmap-bench-dns.XXXXXX)}
PROFILE=realistic
SEED=1
mkdir -p "$WORK"

for tool in nsd dnsperf /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "bench-dns: $tool not installed" >&2; exit 1; }
done

cargo build --release --quiet --bin stsmap --example dns_bench
BIN=target/release/stsmap
BENCH=target/release/examples/dns_bench

echo "== workdir $WORK: $DOMAINS domains, in flight $IN_FLIGHT" >&2
seq 1 "$DOMAINS" | sed 's/^/bench/; s/$/.com/' > "$WORK/domains.txt"
awk '{print $1" MX"; print "_mta-sts."$1" TXT"; print "_smtp._tls."$1" TXT"}' \
  "$WORK/domains.txt" > "$WORK/queries.txt"
QUERIES=$(wc -l < "$WORK/queries.txt")

"$BIN" lab zone --profile "$PROFILE" --seed "$SEED" --input "$WORK/domains.txt" --out "$WORK/root.zone"

cat > "$WORK/nsd.conf" <<CONF
server:
  ip-address: 127.0.0.1@$PORT
  port: $PORT
  server-count: 1
  username: ""
  chroot: ""
  zonesdir: "$WORK"
  database: ""
  zonelistfile: "$WORK/zone.list"
  xfrdfile: "$WORK/xfrd.state"
  xfrdir: "$WORK"
  pidfile: "$WORK/nsd.pid"
  logfile: "$WORK/nsd.log"
  verbosity: 0
  rrl-ratelimit: 0
  rrl-whitelist-ratelimit: 0
  do-ip6: no
remote-control:
  control-enable: no
zone:
  name: "."
  zonefile: "root.zone"
CONF

nsd -d -c "$WORK/nsd.conf" &
NSD_PID=$!
trap 'kill $NSD_PID 2>/dev/null || true; wait $NSD_PID 2>/dev/null || true' EXIT
# Wait (bounded) for NSD to load the zone and answer.
for _ in $(seq 1 120); do
  if echo "bench1.com MX" | dnsperf -s 127.0.0.1 -p "$PORT" -n 1 -t 1 2>/dev/null \
      | grep -q "Queries completed: *1 "; then break; fi
  sleep 0.5
done

# Same socket buffers as the engine (SO_RCVBUF up to rmem_max), same 8 sockets.
RCVBUF_KB=$(( $(cat /proc/sys/net/core/rmem_max) / 1024 ))
echo "== dnsperf ($QUERIES queries, $IN_FLIGHT outstanding)" >&2
/usr/bin/time -v -o "$WORK/dnsperf.time" \
  dnsperf -s 127.0.0.1 -p "$PORT" -d "$WORK/queries.txt" -n 1 -e -q "$IN_FLIGHT" -c 8 -T 1 -t 5 \
  -b "$RCVBUF_KB" \
  > "$WORK/dnsperf.out" 2>&1
grep -v "^\[Timeout\]" "$WORK/dnsperf.out" >&2

# One current-thread runtime by default (measured faster than 2 threads on the shared 2-core
# box, 2026-12-03); dnsperf -T 1 runs a sender and a receiver thread. ENGINE_THREADS=2 to vary.
ENGINE_THREADS=${ENGINE_THREADS:-1}
echo "== stsmap engine (8 sockets, $ENGINE_THREADS threads)" >&2
/usr/bin/time -v -o "$WORK/engine.time" \
  "$BENCH" --resolver "127.0.0.1:$PORT" --names "$WORK/queries.txt" --in-flight "$IN_FLIGHT" --threads "$ENGINE_THREADS" \
  > "$WORK/engine.out" 2> "$WORK/engine.err"
cat "$WORK/engine.err" "$WORK/engine.out" >&2

echo "== stsmap engine, verifying every answer against the lab world" >&2
"$BENCH" --resolver "127.0.0.1:$PORT" --names "$WORK/queries.txt" --in-flight "$IN_FLIGHT" \
  --verify-profile "$PROFILE" --verify-seed "$SEED" > "$WORK/verify.out" 2> "$WORK/verify.err"
cat "$WORK/verify.out" >&2

field() { tr ' ' '\n' < "$1" | sed -n "s/^$2=//p"; }
rss() { sed -n 's/.*Maximum resident set size (kbytes): //p' "$1"; }
DP_QPS=$(sed -n 's/.*Queries per second: *\([0-9.]*\).*/\1/p' "$WORK/dnsperf.out")
DP_LOST=$(sed -n 's/.*Queries lost: *\([0-9]*\).*/\1/p' "$WORK/dnsperf.out")
EN_QPS=$(field "$WORK/engine.out" answered_qps)
EN_LOST=$(field "$WORK/engine.out" lost)
MIS=$(field "$WORK/verify.out" misattributed)
VER=$(field "$WORK/verify.out" verified)
RATIO=$(awk -v a="$EN_QPS" -v b="$DP_QPS" 'BEGIN { printf "%.2f", a / b }')

cat <<REPORT
| | answered q/s | lost | timed-out attempts | misattributed | peak RSS (KiB) |
|---|---|---|---|---|---|
| dnsperf $(dnsperf -h 2>&1 | sed -n 's/^Version //p') | $DP_QPS | $DP_LOST | $DP_LOST (no retries) | n/a | $(rss "$WORK/dnsperf.time") |
| stsmap engine | $EN_QPS | $EN_LOST | $(field "$WORK/engine.out" timed_out_attempts) | $MIS of $VER verified | $(rss "$WORK/engine.time") |

ratio engine/dnsperf: $RATIO ($QUERIES queries = $DOMAINS domains x MX, _mta-sts TXT, _smtp._tls TXT; NSD $(nsd -v 2>&1 | sed -n 's/^NSD version //p'), server-count 1, RRL off; in flight $IN_FLIGHT)
REPORT
