#!/usr/bin/env bash
# Runs each cargo-fuzz target for a bounded time (default 60 s each) and fails on the first crash.
#   scripts/fuzz.sh [SECONDS] [TARGET...]
# Needs cargo-fuzz (`cargo install cargo-fuzz`). libFuzzer's flags need a nightly compiler;
# RUSTC_BOOTSTRAP=1 lets the stable toolchain accept them.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(dns_reply policy input)
fi
export RUSTC_BOOTSTRAP=1
for t in "${targets[@]}"; do
    corpus="fuzz/corpus/$t"
    mkdir -p "$corpus"
    # Seeds from the test fixtures (real policies, the dirty input list).
    case "$t" in
        policy) cp -n tests/fixtures/policies/*.mta-sts.txt "$corpus"/ 2>/dev/null || true ;;
        input) cp -n tests/fixtures/dirty-input.txt "$corpus"/ 2>/dev/null || true ;;
    esac
    echo "== fuzz $t for ${secs}s"
    # -rss_limit_mb bounds memory per input; a crash, a leak or an OOM fails the script.
    cargo fuzz run --release "$t" "$corpus" -- \
        -max_total_time="$secs" -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1
done
echo "fuzz: every target ran ${secs}s without a crash"
