#!/usr/bin/env bash
# README's test command: installs what is missing, then builds and runs every test through ctest, twice:
# a plain Release build in build/ (with the consumer project and the valgrind tests; then the API reference,
# which must build without a single Doxygen warning) and an ASan+UBSan build in build-asan/; then fuzzes the
# safetensors reader, the spec parser and checkpoint loading for FUZZ_SECONDS (60) each.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
jobs=$(nproc)

echo "== plain build (build/) =="
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$jobs"

echo "== API reference (build/docs/html): doxygen, no warnings allowed =="
# Fails on any Doxygen warning, printing them, and when CMake did not find doxygen (docs/CMakeLists.txt).
cmake --build build --target docs

(cd build && ctest --output-on-failure -j"$jobs")

echo "== sanitizer build (build-asan/): -fsanitize=address,undefined =="
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Release -DTAPEGRAD_SANITIZE=ON
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --output-on-failure -j"$jobs")

echo "== fuzzing (build-fuzz/): libFuzzer, clang, ${FUZZ_SECONDS:-60} s per target =="
bash scripts/fuzz.sh
