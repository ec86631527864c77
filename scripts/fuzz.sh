#!/usr/bin/env bash
# Fuzzes the safetensors reader, the model-spec parser and checkpoint loading (model + Adam state) with
# libFuzzer (clang, ASan+UBSan) for a bounded time each: FUZZ_SECONDS (default 60) per target. Builds fuzz/
# in build-fuzz/ with clang. Each target starts from its seed corpus in fuzz/corpus/<name>/ (read only; new
# inputs go to build-fuzz/work/<name>/).
# Fails on any crash, sanitizer report, leak, timeout (> 10 s) or single allocation above 128 MB (inputs are
# at most 4 KB; the spec target builds models of at most 2^20 parameters), leaving the input
# in build-fuzz/artifacts/. Prints the executions run per target and in total.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
# A fixed seed by default: CI explores the same way on every run, so a red run means a changed library,
# not a luckier mutation. FUZZ_SEED=0 lets libFuzzer pick one (for longer runs by hand).
seed=${FUZZ_SEED:-1}

CC=clang CXX=clang++ cmake -S fuzz -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzz_safetensors fuzz_spec fuzz_checkpoint

total=0
for name in safetensors spec checkpoint; do
  mkdir -p "build-fuzz/work/$name" build-fuzz/artifacts
  log="build-fuzz/fuzz_$name.log"
  echo "== fuzz_$name: $seconds s =="
  if ! "build-fuzz/fuzz_$name" "build-fuzz/work/$name" "fuzz/corpus/$name" -max_total_time="$seconds" -seed="$seed" \
       -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=128 -print_final_stats=1 \
       -artifact_prefix="build-fuzz/artifacts/$name-" >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "fuzz_$name: FINDING (input saved under build-fuzz/artifacts/, log in $log)" >&2
    exit 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  echo "fuzz_$name: $runs executions, no findings"
  total=$((total + runs))
done
echo "fuzz: $total executions in total, no findings"
