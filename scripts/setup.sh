#!/usr/bin/env bash
# Installs what tapegrad needs to build, test and run its samples, from Debian's packages.
# Idempotent: packages already present are not fetched again. Needs root (apt-get).
set -euo pipefail

packages=(
  build-essential cmake
  xtensor-dev libxtensor-blas-dev libxsimd-dev libopenblas-dev   # tensors and BLAS
  catch2                                                          # tests (Catch2 v2)
  nlohmann-json3-dev                                              # safetensors headers
  python3 python3-numpy                                           # independent checkpoint reader in the tests
  libcli11-dev                                                    # samples' command lines
  fortunes gnuplot-nox                                            # train_lm: default corpus, loss-curve PNG
  clang libclang-rt-14-dev libomp-dev                             # fuzzing: clang, its libFuzzer and OpenMP runtimes
  valgrind                                                        # memcheck of a short training
  doxygen                                                         # the API reference (docs/, checked warning-free)
  openmpi-bin libopenmpi-dev                                      # optional: distributed/ (data-parallel over MPI)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: need root to apt-get install: ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all packages present"
fi
