#!/usr/bin/env bash
# README's main command: installs what is missing, builds, and trains the default language model on the
# fortunes corpus (samples/train_lm). Extra arguments go to train_lm (see --help).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target train_lm seed_walkthrough custom_layer pinn
# --overwrite: each run of this command starts the demo anew in train_lm_out/ (train_lm itself refuses to
# replace an earlier checkpoint unless told, and --resume continues one).
./build/samples/train_lm/train_lm --out train_lm_out --overwrite "$@"
