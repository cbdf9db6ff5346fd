#!/usr/bin/env bash
# Builds nnc and runs the whole test suite: unit tests, the ONNX node tests, the malformed-
# model corpus, and PyTorch-exported models against ONNX Runtime; then the malformed-model
# corpus again under AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
NNC_WITH_MODELS=1 bash scripts/install-deps.sh
bash scripts/build.sh
# Compiled kernels go to a cache inside the build folder, so a fresh build compiles them all.
export NNC_CACHE_DIR=$PWD/build/kernel-cache
(cd build && ctest --output-on-failure -j1)

echo "== malformed models under ASan/UBSan =="
BUILD_DIR=build-asan TARGETS="nnc make_malformed_models" bash scripts/build.sh -DNNC_SANITIZE=ON
NNC_CACHE_DIR=$PWD/build-asan/kernel-cache bash -c 'cd build-asan && ctest --output-on-failure -R malformed_models'
