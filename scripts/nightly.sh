#!/usr/bin/env bash
# Nightly stsmap survey: scan into a dated run directory, diff against the
# previous night, keep the last N nights, log, and write a Prometheus
# textfile-collector file. Exits non-zero with the reason on failure.
#
# Settings (environment):
#   STSMAP_BASE       root directory (default /var/lib/stsmap): nights/<night>/, logs/, diffs/
#   STSMAP_INPUT      the domain list (required unless STSMAP_LAB=1)
#   STSMAP_SCAN_ARGS  resolver and tuning flags, e.g. "--resolver 127.0.0.1:53 --qps-per-resolver 20000"
#   STSMAP_NIGHT      run name (default: today's UTC date, YYYY-MM-DD)
#   STSMAP_KEEP       nights to keep (default 14)
#   STSMAP_COMPRESS   none | gzip | zstd (default gzip)
#   STSMAP_PROM_FILE  textfile-collector output (default $STSMAP_BASE/stsmap.prom;
#                     point it at node_exporter's --collector.textfile.directory)
#   STSMAP_BIN        the stsmap binary (default: stsmap on PATH, else target/release, target/debug)
#   STSMAP_LAB=1      self-test against the lab: starts `stsmap lab serve` on loopback and scans
#                     the first STSMAP_LAB_LINES (default 2000) lines of data/sample.csv;
#                     STSMAP_LAB_SEED (default 1) picks the world, so two seeds make two "nights".
set -Eeuo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
base="${STSMAP_BASE:-/var/lib/stsmap}"
night="${STSMAP_NIGHT:-$(date -u +%F)}"
keep="${STSMAP_KEEP:-14}"
compress="${STSMAP_COMPRESS:-gzip}"
prom="${STSMAP_PROM_FILE:-$base/stsmap.prom}"
bin="${STSMAP_BIN:-}"
if [[ -z "$bin" ]]; then
  bin="$(command -v stsmap || true)"
  for b in "$repo/target/release/stsmap" "$repo/target/debug/stsmap"; do
    [[ -z "$bin" && -x "$b" ]] && bin="$b"
  done
fi

mkdir -p "$base/nights" "$base/logs" "$base/diffs"
log="$base/logs/$night.log"
run="$base/nights/$night"
lab_pid=""
started=$(date +%s)

say() { printf '%s nightly: %s\n' "$(date -u +%FT%TZ)" "$*" | tee -a "$log" >&2; }

write_prom() { # $1 = 1 success / 0 failure, $2 = reason
  local tmp="$prom.tmp.$$" now; now=$(date +%s)
  {
    echo "# HELP stsmap_nightly_success 1 if the last nightly run succeeded."
    echo "# TYPE stsmap_nightly_success gauge"
    echo "stsmap_nightly_success $1"
    echo "# HELP stsmap_nightly_last_run_timestamp_seconds When the last nightly run ended."
    echo "# TYPE stsmap_nightly_last_run_timestamp_seconds gauge"
    echo "stsmap_nightly_last_run_timestamp_seconds $now"
    echo "# HELP stsmap_nightly_duration_seconds Wall time of the last nightly run (scan + diff)."
    echo "# TYPE stsmap_nightly_duration_seconds gauge"
    echo "stsmap_nightly_duration_seconds $((now - started))"
    if [[ "$1" == 1 ]]; then
      jq -r '
        "# HELP stsmap_domains Input lines (rows) of the last run.", "# TYPE stsmap_domains gauge",
        "stsmap_domains \(.domains)",
        "# HELP stsmap_scanned Rows scanned (input_status ok).", "# TYPE stsmap_scanned gauge",
        "stsmap_scanned \(.scanned)",
        "# HELP stsmap_scan_duration_seconds Wall time of the scan.", "# TYPE stsmap_scan_duration_seconds gauge",
        "stsmap_scan_duration_seconds \(.duration_s)",
        "# HELP stsmap_dns_queries DNS queries sent by the scan.", "# TYPE stsmap_dns_queries gauge",
        "stsmap_dns_queries \(.dns_queries)",
        "# HELP stsmap_domains_per_second Scan rate.", "# TYPE stsmap_domains_per_second gauge",
        "stsmap_domains_per_second \(if .duration_s > 0 then (.domains / .duration_s * 10 | round / 10) else 0 end)",
        "# HELP stsmap_classification Scanned domains per classification.", "# TYPE stsmap_classification gauge",
        (.classification | to_entries[] | "stsmap_classification{class=\"\(.key)\"} \(.value)"),
        "# HELP stsmap_classification_ratio Share of scanned domains per classification.", "# TYPE stsmap_classification_ratio gauge",
        (.scanned as $n | .classification | to_entries[] |
          "stsmap_classification_ratio{class=\"\(.key)\"} \(if $n > 0 then (.value / $n * 1e6 | round / 1e6) else 0 end)")
      ' "$run/summary.json"
      if [[ -n "${diff_dir:-}" && -f "$diff_dir/summary.json" ]]; then
        jq -r '
          "# HELP stsmap_diff_domains Domains per movement since the previous night.", "# TYPE stsmap_diff_domains gauge",
          (.movements | to_entries[] | "stsmap_diff_domains{movement=\"\(.key)\"} \(.value.domains)"),
          "stsmap_diff_domains{movement=\"changed\"} \(.changed_domains)"
        ' "$diff_dir/summary.json"
      fi
    else
      echo "# HELP stsmap_nightly_failure_info Why the last nightly run failed."
      echo "# TYPE stsmap_nightly_failure_info gauge"
      printf 'stsmap_nightly_failure_info{reason="%s"} 1\n' "$(printf '%s' "$2" | tr -d '"\\\n' | cut -c1-200)"
    fi
  } >"$tmp" && mv "$tmp" "$prom"
}

fail() {
  say "FAILED: $*"
  write_prom 0 "$*" || true
  exit 1
}
trap 'fail "line $LINENO: $BASH_COMMAND exited $?"' ERR
cleanup() { if [[ -n "$lab_pid" ]]; then kill "$lab_pid" 2>/dev/null || true; wait "$lab_pid" 2>/dev/null || true; fi; }
trap cleanup EXIT

[[ -x "$bin" ]] || fail "no stsmap binary (set STSMAP_BIN)"
command -v jq >/dev/null || fail "jq is needed for the Prometheus file"
exec 9>"$base/.lock"
flock -n 9 || fail "another nightly run holds $base/.lock"

scan_args=()
read -r -a scan_args <<<"${STSMAP_SCAN_ARGS:-}"
input="${STSMAP_INPUT:-}"
if [[ "${STSMAP_LAB:-0}" == 1 ]]; then
  seed="${STSMAP_LAB_SEED:-1}"
  ca="$base/lab-ca.pem"
  lab_out="$base/lab.out"
  rm -f "$ca" "$lab_out"
  input="$base/lab-input.csv"
  head -n "${STSMAP_LAB_LINES:-2000}" "$repo/data/sample.csv" >"$input"
  # Free ports picked by the kernel; the lab prints where it listens and writes the CA last.
  "$bin" lab serve --dns 127.0.0.1:0 --https 127.0.0.1:0 --ca-out "$ca" --seed "$seed" \
    >"$lab_out" 2>>"$log" &
  lab_pid=$!
  for _ in $(seq 100); do [[ -s "$ca" ]] && break; sleep 0.1; done
  [[ -s "$ca" ]] || fail "the lab did not start (see $log)"
  port=$(sed -n 's/^dns listening on udp+tcp 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$lab_out")
  https_port=$(sed -n 's/^https listening on tcp 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$lab_out")
  [[ -n "$port" && -n "$https_port" ]] || fail "the lab did not say where it listens (see $lab_out)"
  cat "$lab_out" >>"$log"
  say "lab mode: seed $seed, DNS 127.0.0.1:$port, HTTPS 127.0.0.1:$https_port"
  scan_args+=(--resolver "127.0.0.1:$port" --https-port "$https_port" --ca-file "$ca" --timeout 5)
fi
[[ -n "$input" ]] || fail "STSMAP_INPUT is not set"
[[ -r "$input" ]] || fail "cannot read the input $input"

if [[ -f "$run/manifest.json" ]]; then
  status=$(jq -r .status "$run/manifest.json")
  [[ "$status" == finished ]] && fail "$run is already a finished run (remove it to scan again)"
  say "$run holds an unfinished run ($status): scanning again"
  scan_args+=(--force)
fi

say "scanning $input into $run"
"$bin" scan --input "$input" --out "$run" --compress "$compress" --quiet "${scan_args[@]}" >>"$log" 2>&1 ||
  fail "scan exited $? (see $log)"
[[ "$(jq -r .status "$run/manifest.json")" == finished ]] || fail "scan did not finish"

prev=""
for d in "$base/nights"/*/; do
  d="${d%/}"
  [[ "$d" == "$run" || ! -f "$d/manifest.json" ]] && continue
  [[ "$(basename "$d")" < "$night" && "$(jq -r .status "$d/manifest.json")" == finished ]] && prev="$d"
done
diff_dir=""
if [[ -n "$prev" ]]; then
  diff_dir="$base/diffs/$(basename "$prev")_$night"
  say "diff against $prev into $diff_dir"
  "$bin" diff "$prev" "$run" --out "$diff_dir" --force >>"$log" 2>&1 || fail "diff exited $? (see $log)"
else
  say "no earlier finished night: no diff"
fi

mapfile -t nights < <(ls -1 "$base/nights" | sort)
if ((${#nights[@]} > keep)); then
  for old in "${nights[@]:0:${#nights[@]}-keep}"; do
    say "pruning night $old"
    rm -rf -- "${base:?}/nights/$old" "$base/logs/$old.log"
    # Diffs that name the pruned night on either side go with it.
    rm -rf -- "$base/diffs/${old}_"* "$base/diffs/"*"_$old"
  done
fi

write_prom 1 ""
say "done: $(jq -r '"\(.domains) rows, \(.scanned) scanned in \(.duration_s) s"' "$run/summary.json")"
