#!/usr/bin/env bash
# The main job on the bundled example: install what is missing, build, then show what
# nnc does with examples/models/tiny_cnn.onnx (info, check, run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
TARGETS=nnc bash scripts/build.sh
model=examples/models/tiny_cnn.onnx
nnc=build/nnc
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }
step $nnc info $model
step $nnc check $model
step $nnc run $model --seed 1 --save-outputs build/example_outputs
echo
echo "Outputs written to build/example_outputs/. Try: $nnc --help"
