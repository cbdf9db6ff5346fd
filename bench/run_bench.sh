#!/bin/bash
# nnc against ONNX Runtime on exported PyTorch models, side by side in one run, plus kernel
# microbenchmarks in GFLOP/s against the machine's FP32 peak.
#
# Usage: bench/run_bench.sh [--threads N] [--iters N] [--rounds N] [--write] [MODEL...]
#   MODEL: resnet18 resnet50 mobilenet_v2 efficientnet_b0 swiglu_ffn transformer_encoder
#          (default: all). --write replaces bench/RESULTS.md with the tables.
# Needs a built nnc (NNC=path, default build/nnc), Debian's python3-torch/torchvision/onnx,
# and npm (onnxruntime-node is installed into bench/work with --ignore-scripts).
#
# Each round runs nnc then ONNX Runtime on the same model with the same thread count, so
# both see the same machine load; the table shows the median of the rounds' medians.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
NNC=$(realpath "${NNC:-build/nnc}")
THREADS=2 ITERS=20 ROUNDS=3 WRITE=0 MODELS=()
while [ $# -gt 0 ]; do
  case $1 in
    --threads) THREADS=$2; shift 2 ;;
    --iters) ITERS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --write) WRITE=1; shift ;;
    *) MODELS+=("$1"); shift ;;
  esac
done
[ ${#MODELS[@]} -gt 0 ] || MODELS=(resnet18 resnet50 mobilenet_v2 efficientnet_b0 swiglu_ffn transformer_encoder)
WORK=$ROOT/bench/work
mkdir -p "$WORK/models" "$WORK/kernels"
source "$ROOT/tests/models/ort_setup.sh"
ort_setup bench "$WORK"
$PY bench/export_models.py "$WORK/models" "${MODELS[@]}" 2>&1 | grep -v -i warn || true
$PY bench/export_kernels.py "$WORK/kernels" 2>&1 | grep -v -i warn || true

json() { $PY -c "import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])['$1'])"; }
# GFLOP/s at a latency of $1 ms: the work per run (bench's throughput-based GFLOP/s over its
# runs per second) over that latency, so the column agrees with the table's median.
gflops_at() { $PY -c "import json,sys; j=json.loads(sys.stdin.read().strip().splitlines()[-1]); print(j['gflop_per_s'] / j['throughput_per_s'] * 1000 / $1)"; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

models_table() {
  echo "| model | nnc ms | ONNX Runtime ms | nnc / ORT | nnc GFLOP/s (direct count) | share of the $THREADS cores' $PEAK_ALL GFLOP/s | nnc compile cold / warm s | ORT load s | nnc peak RSS MB | ORT peak RSS MB |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  for m in "${MODELS[@]}"; do
    local model=$WORK/models/$m.onnx input=$WORK/models/$m.input.npy
    # Cold compile: an empty kernel cache; warm: the same cache again.
    local cache=$WORK/cache-$m
    rm -rf "$cache"
    local cold warm
    cold=$(NNC_CACHE_DIR=$cache "$NNC" bench "$model" --threads "$THREADS" --iters 1 --warmup 0 --json | json compile_ms)
    local nnc_ms=() ort_ms=() out ort_out
    for ((r = 0; r < ROUNDS; r++)); do
      out=$(NNC_CACHE_DIR=$cache "$NNC" bench "$model" --threads "$THREADS" --iters "$ITERS" --json)
      nnc_ms+=("$(echo "$out" | json median_ms)")
      ort_out=$(node bench/ort_bench.js "$model" "$input" "$THREADS" "$ITERS" 3 "$ORT_MODULES")
      ort_ms+=("$(echo "$ort_out" | json median_ms)")
    done
    warm=$(echo "$out" | json compile_ms)
    local a b
    a=$(median "${nnc_ms[@]}") b=$(median "${ort_ms[@]}")
    awk -v m="$m" -v a="$a" -v b="$b" -v g="$(echo "$out" | gflops_at "$a")" -v c="$cold" -v w="$warm" \
        -v l="$(echo "$ort_out" | json load_ms)" -v r1="$(echo "$out" | json peak_rss_bytes)" \
        -v r2="$(echo "$ort_out" | json peak_rss_bytes)" -v peak="$PEAK_ALL" \
        'BEGIN { printf "| %s | %.2f | %.2f | %.2fx | %.0f | %.0f%% | %.1f / %.2f | %.2f | %.0f | %.0f |\n",
                 m, a, b, a / b, g, 100 * g / peak, c / 1000, w / 1000, l / 1000, r1 / 1e6, r2 / 1e6 }'
  done
}

# One core's FP32 peak, measured here (bench/fma_peak.cpp: independent FMA chains). The
# models' threads together can reach at most that times the thread count (measured here with
# one copy per core at once: 2 x 116-117, no lower clock): no model runs faster than its work
# at that rate.
PEAK=$(c++ -O2 -march=native "$ROOT/bench/fma_peak.cpp" -o "$WORK/fma_peak" && "$WORK/fma_peak")
PEAK_ALL=$(awk -v p="$PEAK" -v t="$THREADS" 'BEGIN { printf "%.0f", p * t }')

kernels_table() {
  echo "| kernel (1 thread) | ms | GFLOP/s (direct count) | share of the core's measured $PEAK GFLOP/s peak |"
  echo "| --- | ---: | ---: | ---: |"
  for k in "$WORK"/kernels/*.onnx; do
    local out ms
    out=$(NNC_CACHE_DIR=$WORK/cache-kernels "$NNC" bench "$k" --threads 1 --iters "$ITERS" --json)
    ms=$(echo "$out" | json median_ms)
    awk -v k="$(basename "$k" .onnx)" -v ms="$ms" -v g="$(echo "$out" | gflops_at "$ms")" \
        -v peak="$PEAK" 'BEGIN { printf "| %s | %.3f | %.1f | %.0f%% |\n", k, ms, g, 100 * g / peak }'
  done
}

{
  echo "## Models ($THREADS threads, batch 1, median of $ROUNDS rounds of $ITERS runs each)"
  echo
  models_table
  echo
  echo "GFLOP/s count each convolution's direct work (2 x outputs x input channels x window"
  echo "per image). nnc runs 3x3 stride-1 convolutions by Winograd's F(2x2, 3x3), which does 4/9"
  echo "of those multiplications, so a rate can pass the FMA peak."
  echo
  echo "## Kernels"
  echo
  kernels_table
} | tee "$WORK/results.md"

if [ "$WRITE" = 1 ]; then
  # Sections written by other scripts (the training table of bench/train_bench.sh) stay.
  sed -n '/^## Training/,$p' bench/RESULTS.md > "$WORK/kept.md" 2>/dev/null || true
  {
    echo "# Benchmark results"
    echo
    echo "Run on $(date -u +%Y-%m-%d) on $(lscpu | sed -n 's/^Model name: *//p') ($(nproc) cores), with"
    echo "\`bench/run_bench.sh --threads $THREADS\`; ONNX Runtime is onnxruntime-node $ORT_VERSION with all graph"
    echo "optimisations, nnc with its default -O3. The machine is shared: compare the ratios, not the absolute times. The"
    echo "kernels' peak is measured in the same run with 12 independent chains of AVX-512 FMAs (bench/fma_peak.cpp)."
    echo
    cat "$WORK/results.md"
    if [ -s "$WORK/kept.md" ]; then echo; cat "$WORK/kept.md"; fi
  } > bench/RESULTS.md
  echo "wrote bench/RESULTS.md"
fi
