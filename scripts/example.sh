#!/usr/bin/env bash
# The main job on the bundled example: install what is missing, build, then show what
# nnc does with examples/models/tiny_cnn.onnx (info, check, optimize, run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
TARGETS=nnc bash scripts/build.sh
model=examples/models/tiny_cnn.onnx
nnc=build/nnc
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }
step $nnc info $model
step $nnc check $model
# Fold the BatchNorms and fuse the ReLUs, checking every pass against the reference
# interpreter (--verify); then run both models on the same seeded input.
step $nnc optimize $model -o build/tiny_cnn.opt.onnx --force --verify --dim N=2
step $nnc run $model --seed 1 --save-outputs build/example_outputs
step $nnc run build/tiny_cnn.opt.onnx --seed 1 --save-outputs build/example_outputs_optimized
# The CPU backend (compiled Halide kernels, the default) against the reference interpreter.
step $nnc bench build/tiny_cnn.opt.onnx --iters 50
step $nnc bench build/tiny_cnn.opt.onnx --iters 50 --backend reference
echo
echo "Outputs written to build/example_outputs/ (optimised model: build/example_outputs_optimized/)."
echo "Try: $nnc --help"
