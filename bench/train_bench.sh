#!/usr/bin/env bash
# Training throughput of the MLP 784-300-100-10 (batch 64, Adam, 2 threads): nnc train on
# Fashion-MNIST against PyTorch 1.13 (bench/pytorch_train_mlp.py) in the same run, printed as a
# markdown table with the ratio. Usage: bench/train_bench.sh [--threads N] [--epochs N]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
nnc=${NNC:-$root/build/nnc}
data=${DATA:-$root/../shared/data/fashion-mnist}
threads=2
epochs=1
while [ $# -gt 0 ]; do
  case $1 in
    --threads) threads=$2; shift 2 ;;
    --epochs) epochs=$2; shift 2 ;;
    *) echo "usage: $0 [--threads N] [--epochs N]" >&2; exit 1 ;;
  esac
done
work=$root/bench/work/train
mkdir -p "$work"
export NNC_CACHE_DIR=$work/kernel-cache
"$nnc" new mlp -o "$work/mlp.onnx" --overwrite > /dev/null
nnc_json=$("$nnc" train "$work/mlp.onnx" --data "$data" -o "$work/mlp-trained.onnx" --epochs "$epochs" --batch 64 \
  --optimizer adam --threads "$threads" --overwrite --json | tail -n 1)
torch_json=$(/usr/bin/python3 "$here/pytorch_train_mlp.py" --threads "$threads" --batch 64 --steps 2000)
/usr/bin/python3 - "$nnc_json" "$torch_json" "$threads" <<'PY'
import json, sys
n, t, threads = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
ns, ts = n["samples_per_second"], t["samples_per_second"]
print(f"| MLP 784-300-100-10, batch 64, Adam, {threads} threads | samples/s | steps/s |")
print("| --- | ---: | ---: |")
print(f"| nnc train (compiled CPU backend) | {ns:,.0f} | {ns / 64:,.0f} |")
print(f"| PyTorch {t['torch']} | {ts:,.0f} | {ts / 64:,.0f} |")
print(f"| nnc / PyTorch | {ns / ts:.2f}x | |")
print(f"\n(nnc test accuracy after the run: {100 * n['test_accuracy']:.2f}%)")
PY
