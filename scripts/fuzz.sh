#!/usr/bin/env bash
# Fuzzes every parser of outside input for a bounded time (docs/fuzzing.md):
#
#     scripts/fuzz.sh [seconds-per-target]      # default 60
#
# Builds the cargo-fuzz targets in fuzz/ (nightly, AddressSanitizer, debug assertions and
# overflow checks on), seeds each target's corpus from fuzz/seeds/<target>/, runs each for the
# given time and prints, per target: seconds, executions, crashes. Exits non-zero if any target
# crashed; the input that did is in fuzz/artifacts/<target>/. Not run by CI.
#
# FUZZ_TARGETS="a b" limits the run to those targets.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
  echo "usage: $0 [seconds-per-target]" >&2
  exit 2
fi

if ! rustup toolchain list | grep -q '^nightly'; then
  echo "fuzz: cargo-fuzz needs a nightly toolchain: rustup toolchain install nightly" >&2
  exit 2
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

echo "fuzz: building the targets (a first build compiles the dependencies with ASan: minutes)"
cargo +nightly fuzz build
# Every target then runs from this one build (`cargo fuzz run` would rebuild whenever src/
# changes mid-run), with the ASan options `cargo fuzz run` sets.
host=$(rustc +nightly -vV | sed -n 's/^host: //p')
bin_dir="fuzz/target/$host/release"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_odr_violation=0}"

targets="${FUZZ_TARGETS:-$(cargo +nightly fuzz list)}"
logs=fuzz/target/fuzz-logs
mkdir -p "$logs"

# The dictionary each target mutates with (fuzz/dicts/).
dict_for() {
  case "$1" in
    authorize_request | token_form) echo fuzz/dicts/params.dict ;;
    upstream_json) echo fuzz/dicts/upstream_json.dict ;;
    *) echo fuzz/dicts/jwt.dict ;;
  esac
}

count_artifacts() {
  find "fuzz/artifacts/$1" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
    -o -name 'oom-*' \) 2>/dev/null | wc -l
}

results=()
failed=0
for target in $targets; do
  corpus="fuzz/corpus/$target"
  mkdir -p "$corpus" "fuzz/artifacts/$target"
  cp -n "fuzz/seeds/$target/"* "$corpus/" 2>/dev/null || true
  before=$(count_artifacts "$target")
  log="$logs/$target.log"
  echo "fuzz: $target for ${seconds}s (log: $log)"
  start=$(date +%s)
  status=0
  "$bin_dir/$target" -artifact_prefix="fuzz/artifacts/$target/" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -dict="$(dict_for "$target")" "$corpus" >"$log" 2>&1 || status=$?
  # libFuzzer's own count of seconds spent fuzzing; the wall clock if it died first.
  elapsed=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
  elapsed=${elapsed:-$(($(date +%s) - start))}
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if [ -z "$execs" ]; then
    # A crash ends the run before the final stats: take the last status line.
    execs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')
  fi
  crashes=$(($(count_artifacts "$target") - before))
  if [ "$status" -ne 0 ] && [ "$crashes" -eq 0 ]; then
    crashes=1 # died without leaving an artifact (e.g. a fixture panicked at start)
  fi
  if [ "$crashes" -ne 0 ]; then
    failed=1
    echo "fuzz: $target CRASHED (exit $status); see $log and fuzz/artifacts/$target/" >&2
    tail -40 "$log" >&2
  fi
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
  units=$(find "$corpus" -type f | wc -l)
  results+=("$target ${elapsed} ${execs:-0} ${crashes} ${cov:-?} ${units}")
done

echo
echo "fuzz: $(date -u +%Y-%m-%dT%H:%MZ), ${seconds}s per target, $(nproc) cores"
printf '| %-18s | %7s | %11s | %7s | %8s | %6s |\n' target seconds executions crashes coverage corpus
printf '|%s|%s|%s|%s|%s|%s|\n' "--------------------" "---------" "-------------" \
  "---------" "----------" "--------"
for row in "${results[@]}"; do
  read -r t s e c v u <<<"$row"
  printf '| %-18s | %7s | %11s | %7s | %8s | %6s |\n' "$t" "$s" "$e" "$c" "$v" "$u"
done
exit "$failed"
