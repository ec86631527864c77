#!/usr/bin/env bash
# README's main command: installs what is missing, builds, and runs the main sample.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target seed_walkthrough
./build/samples/seed_walkthrough/seed_walkthrough "$@"
