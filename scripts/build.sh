#!/usr/bin/env bash
# Configures and builds nnc into BUILD_DIR (default build/). Extra args go to cmake's
# configure step; TARGETS (e.g. "nnc") limits what is built.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
targets=()
for t in ${TARGETS:-}; do targets+=(--target "$t"); done
cmake --build "$build_dir" -j"$(nproc)" "${targets[@]}"
