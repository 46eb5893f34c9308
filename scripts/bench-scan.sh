#!/usr/bin/env bash
# Throughput, memory and window-filling of `stsmap scan` (the release binary), all on loopback.
# Not a timed test: it prints figures for BENCHMARKS.md ("Scan").
#
#   nsd      N domains (default 1M), realistic profile: DNS from NSD serving `stsmap lab zone`,
#            HTTPS from `stsmap lab serve`; once with --dedup exact, once with --dedup off.
#   flat     streamed input (`--input -`, names generated on the fly) against the lab (DNS and
#            HTTPS, no zone needed), --dedup off: N domains, then M domains; peak RSS ratio M/N.
#   latency  the lab answering every DNS query after 50..150 ms, --concurrency C:
#            L domains; domains/s against the in-flight bound C / mean latency.
#
# Names: the 100k Alexa-style list in /work/shared/data/lists/ is round 0; round k >= 1
# derives `<first label>-<k>.<rest>` from every name of the list (google.com → google-7.com,
# bbc.co.uk → bbc-7.co.uk), a name already given is skipped (a few derived names exist in the
# list itself), so N names are rounds 0.. until N distinct lines, ranks 1..N, deterministic.
# About 0.6% of the list's lines are URLs with paths: realistic dirt, rows with input_status invalid.
#
# usage: scripts/bench-scan.sh [-p nsd,flat,latency] [-n N] [-m M] [-l L] [-c C] [-i LIST]
set -euo pipefail

cd "$(dirname "$0")/.."
. scripts/lib-nsd.sh
PARTS=nsd,flat,latency
N=1000000
M=10000000
L=300000
C=500
LIST=/work/shared/data/lists/phunterlau-dga_classifier_alexa-top-100k.csv
while getopts "p:n:m:l:c:i:" opt; do
  case $opt in
    p) PARTS=$OPTARG ;;
    n) N=$OPTARG ;;
    m) M=$OPTARG ;;
    l) L=$OPTARG ;;
    c) C=$OPTARG ;;
    i) LIST=$OPTARG ;;
    *) sed -n '2,18p' "$0"; exit 2 ;;
  esac
done
has() { [[ ",$PARTS," == *",$1,"* ]]; }
for tool in nsd nsd-checkzone dig /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "bench-scan: $tool is not installed" >&2; exit 1; }
done

NSD_PORT=${NSD_PORT:-27353}
LAB_DNS_PORT=${LAB_DNS_PORT:-27354}
LAB_HTTPS_PORT=${LAB_HTTPS_PORT:-27443}
TMP=$(mktemp -d /tmp/bench-scan.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

echo "== build (release)"
cargo build --release --quiet
BIN=$PWD/target/release/stsmap

gen() { # COUNT: `rank,domain` lines, see the header
  awk -F, -v n="$1" '
    { sub(/\r$/, ""); d = tolower($NF); if (d ~ /\./ && d != "domain") names[++k] = d }
    END {
      r = 0
      for (round = 0; r < n; round++)
        for (i = 1; i <= k && r < n; i++) {
          d = names[i]
          if (round > 0) {
            p = index(d, "."); lab = substr(d, 1, p - 1); suf = "-" round
            d = substr(lab, 1, 63 - length(suf)) suf substr(d, p)
          }
          if (!(d in seen)) { seen[d] = 1; print ++r "," d }
        }
    }' "$LIST"
}

wait_dns() { # PORT
  for _ in $(seq 600); do
    if dig +time=1 +tries=1 @127.0.0.1 -p "$1" . SOA 2>/dev/null | grep -q "status: NOERROR"; then return 0; fi
    sleep 0.5
  done
  echo "no DNS server answers on port $1" >&2; return 1
}

start_lab() { # extra `lab serve` flags...
  rm -f "$TMP/ca.pem"
  "$BIN" lab serve --dns "127.0.0.1:$LAB_DNS_PORT" --https "127.0.0.1:$LAB_HTTPS_PORT" \
    --ca-out "$TMP/ca.pem" "$@" > "$TMP/lab.log" 2>&1 &
  LAB_PID=$!
  PIDS+=("$LAB_PID")
  for _ in $(seq 600); do [ -s "$TMP/ca.pem" ] && break; sleep 0.1; done
  # The lab writes its CA before it binds DNS: no CA means it failed (a port in use?).
  kill -0 "$LAB_PID" 2>/dev/null && [ -s "$TMP/ca.pem" ] || { cat "$TMP/lab.log" >&2; exit 1; }
  wait_dns "$LAB_DNS_PORT"
}
stop_lab() { kill "$LAB_PID"; wait "$LAB_PID" 2>/dev/null || true; }

# scan NAME INPUT RESOLVER_PORT extra-flags... (stdin is the input when INPUT is -)
scan() {
  local name=$1 input=$2 port=$3; shift 3
  local out="$TMP/out-$name"
  echo "-- $name: load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "   stsmap scan --input $input --out OUT --resolver 127.0.0.1:$port" \
    "--https-port $LAB_HTTPS_PORT --ca-file ca.pem --force $*"
  /usr/bin/time -v -o "$TMP/time-$name" "$BIN" scan --input "$input" --out "$out" \
    --resolver "127.0.0.1:$port" --https-port "$LAB_HTTPS_PORT" --ca-file "$TMP/ca.pem" \
    --force "$@" 2> "$TMP/stderr-$name" || { cat "$TMP/stderr-$name" >&2; return 1; }
  local rss wall
  rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$TMP/time-$name")
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { print $2 }' "$TMP/time-$name")
  echo "$name $rss" >> "$TMP/rss"
  python3 - "$out" "$rss" "$wall" "$name" "$TMP/time-$name" "$TMP/stderr-$name" <<'EOF'
import json, sys, csv, re
out, rss, wall, name, timef, errf = sys.argv[1], int(sys.argv[2]), *sys.argv[3:]
s = json.load(open(f"{out}/summary.json"))
d = s["duration_s"]
t = dict(l.strip().split(": ", 1) for l in open(timef) if ": " in l)
u, k = float(t["User time (seconds)"]), float(t["System time (seconds)"])
print(f"   scanner CPU: user {u:.1f} s + sys {k:.1f} s ({t['Percent of CPU this job got']} of one core),"
      f" {(u + k) / s['domains'] * 1e6:.0f} us per row")
# The progress log (one line every 5 s when stderr is not a terminal) samples domains in flight.
fl = [int(m.group(1)) for m in re.finditer(r"(\d+) in flight", open(errf).read())]
if len(fl) > 2:
    mid = fl[:-1]  # the last line is taken while the window drains
    print(f"   in flight (progress log, {len(mid)} samples): mean {sum(mid) / len(mid):.0f},"
          f" min {min(mid)}, max {max(mid)}")
print(f"   rows {s['domains']}  duration {d:.1f} s (wall {wall})  peak RSS {rss / 1024:.0f} MiB")
print(f"   {s['domains'] / d:,.0f} domains/s  {s['dns_queries'] / d:,.0f} DNS queries/s "
      f"({s['dns_queries']:,} queries, {s['dns_answered']:,} answered)  "
      f"{s['https_fetches'] / d:,.1f} fetches/s ({s['https_fetches']:,} fetches)")
print("   classes: " + ", ".join(f"{k} {v}" for k, v in sorted(s["classification"].items())))
# Mean per-domain time, for Little's law (in flight = rate x time in the system).
n, tot, inputs = 0, 0, {}
with open(f"{out}/results.csv", newline="") as f:
    for row in csv.DictReader(f):
        inputs[row["input_status"]] = inputs.get(row["input_status"], 0) + 1
        if row["input_status"] == "ok" and row["duration_ms"]:
            n += 1; tot += int(row["duration_ms"])
mean = tot / n if n else 0
print(f"   input_status: {inputs}  mean duration_ms {mean:.1f}  "
      f"=> mean in flight {s['domains'] / d * mean / 1000:.0f}")
with open(f"{out}/../mean-{name}", "w") as f: f.write(f"{mean}\n")
EOF
  echo "   load after: $(cut -d' ' -f1-3 /proc/loadavg)"
  if [ -n "${COMPARE_TRUTH:-}" ] && [ "$input" != - ]; then
    # The rows must equal what `lab truth` says for the same list (every column but duration_ms).
    "$BIN" lab truth --input "$input" --profile realistic --https-ip 127.0.0.1 --out "$TMP/truth.csv"
    python3 - "$out/results.csv" "$TMP/truth.csv" <<'EOF'
import csv, sys
got, want = (csv.reader(open(p, newline="")) for p in sys.argv[1:3])
head = next(got); next(want); d = head.index("duration_ms")
diff = rows = 0
for g, w in zip(got, want):
    rows += 1
    if [c for i, c in enumerate(g) if i != d] != [c for i, c in enumerate(w) if i != d]:
        diff += 1
        if diff <= 5:
            print("   differs:", g[1], [(head[i], g[i], w[i]) for i in range(len(w)) if i != d and g[i] != w[i]])
print(f"   vs lab truth: {rows - diff} of {rows} rows equal on every column but duration_ms; {diff} differ")
EOF
    rm -f "$TMP/truth.csv"
  fi
  rm -rf "$out"
}

if has nsd; then
  echo "== nsd: $N domains, realistic profile, DNS from NSD on 127.0.0.1:$NSD_PORT"
  gen "$N" > "$TMP/list.csv"
  distinct=$(cut -d, -f2 "$TMP/list.csv" | sort -u | wc -l)
  echo "$(wc -l < "$TMP/list.csv") lines, $distinct distinct names; first and last:"
  sed -n '1p;$p' "$TMP/list.csv"
  [ "$distinct" -eq "$N" ] || { echo "names are not distinct" >&2; exit 1; }
  # The HTTPS server first (its DNS side is unused here), so the zone points at its address.
  start_lab
  "$BIN" lab zone --input "$TMP/list.csv" --profile realistic --https-ip 127.0.0.1 --out "$TMP/lab.zone"
  ls -l "$TMP/lab.zone" | awk '{ printf "zone file %.0f MB\n", $5 / 1e6 }'
  nsd_conf "$TMP" "$NSD_PORT" "$TMP/lab.zone" 2
  t0=$(date +%s)
  nsd -d -c "$TMP/nsd.conf" &
  PIDS+=($!)
  wait_dns "$NSD_PORT" || { cat "$TMP/nsd.log" >&2; exit 1; }
  echo "NSD answers after $(($(date +%s) - t0)) s"
  rm -f "$TMP/lab.zone"
  scan nsd-exact "$TMP/list.csv" "$NSD_PORT" --dedup exact
  COMPARE_TRUTH=1 scan nsd-off "$TMP/list.csv" "$NSD_PORT" --dedup off
  kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true
  stop_lab
  rm -f "$TMP/list.csv"
fi

if has flat; then
  echo "== flat: streamed input, DNS and HTTPS from the lab, --dedup off: $N then $M domains"
  start_lab
  gen "$N" | scan "flat-$N" - "$LAB_DNS_PORT" --dedup off
  gen "$M" | scan "flat-$M" - "$LAB_DNS_PORT" --dedup off
  stop_lab
  awk -v a="flat-$N" -v b="flat-$M" '$1 == a { x = $2 } $1 == b { y = $2 }
    END { printf "peak RSS: %.0f MiB vs %.0f MiB, ratio %.3f (must be <= 1.2)\n", x / 1024, y / 1024, y / x }' \
    "$TMP/rss"
fi

if has latency; then
  echo "== latency: the lab replies after 50..150 ms (mean 100 ms), --concurrency $C, $L domains"
  start_lab --latency 50ms..150ms
  gen "$L" | scan latency - "$LAB_DNS_PORT" --dedup off --concurrency "$C"
  stop_lab
  mean=$(cat "$TMP/mean-latency")
  awk -v c="$C" -v m="$mean" 'BEGIN {
    printf "bound: cap / 100 ms = %.0f domains/s; cap / mean per-domain time (%.1f ms) = %.0f domains/s\n",
      c / 0.1, m, c / (m / 1000) }'
fi
echo "== done; load $(cut -d' ' -f1-3 /proc/loadavg)"
