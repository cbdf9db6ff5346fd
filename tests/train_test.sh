#!/usr/bin/env bash
# nnc new + nnc train end to end on Fashion-MNIST (../shared/data/fashion-mnist):
#   mlp: the MLP 784-300-100-10 reaches >= 88% test accuracy in 5 epochs;
#   cnn: the small CNN with BatchNorm and dropout reaches >= 91% in 5 epochs.
# The written model passes onnx.checker, has no Dropout or training-mode BatchNorm left, and
# gives ONNX Runtime (from npm, when it can be installed) the same test accuracy; existing
# outputs are not replaced without --overwrite.
# Usage: train_test.sh NNC WORK_DIR mlp|cnn [ORT_REUSE_DIR]   (exit 77: no dataset here)
set -euo pipefail
nnc=$1 work=$2 kind=$3 reuse=${4:-}
here=$(cd "$(dirname "$0")" && pwd)
data=${NNC_FASHION_MNIST:-$here/../../shared/data/fashion-mnist}
[ -d "$data" ] || data=/work/shared/data/fashion-mnist
if [ ! -f "$data/train-images-idx3-ubyte.gz" ] && [ ! -f "$data/train-images-idx3-ubyte" ]; then
  echo "SKIPPED: no Fashion-MNIST under ../shared/data/fashion-mnist" >&2
  exit 77
fi
mkdir -p "$work"
cd "$work"
PY=/usr/bin/python3
case $kind in
  mlp) "$nnc" new mlp -o model.onnx --overwrite; min=0.88; extra=() ;;
  cnn) "$nnc" new cnn --dropout 0.3 -o model.onnx --overwrite; min=0.91; extra=() ;;
  *) echo "unknown kind $kind" >&2; exit 1 ;;
esac

rm -f trained.onnx trained.svg
"$nnc" train model.onnx --data "$data" -o trained.onnx --epochs 5 --seed 1 --json "${extra[@]}" | tee train.log
json=$(tail -n 1 train.log)
acc=$($PY -c 'import json, sys; print(json.loads(sys.argv[1])["test_accuracy"])' "$json")
$PY -c 'import sys; a, m = float(sys.argv[1]), float(sys.argv[2]); sys.exit(0 if a >= m else f"test accuracy {a} < {m}")' "$acc" "$min"
grep -q '<polyline' trained.svg

# Existing outputs are kept unless --overwrite is given.
if "$nnc" train model.onnx --data "$data" -o trained.onnx --epochs 1 2> refused.txt; then
  echo "FAIL: nnc train replaced an existing output without --overwrite" >&2; exit 1
fi
grep -q "exists; pass --overwrite" refused.txt

# Plain inference ONNX, and the test images as float32 for ONNX Runtime.
$PY - "$data" <<'PY'
import gzip, sys
import numpy as np, onnx
m = onnx.load("trained.onnx")
onnx.checker.check_model(m, full_check=True)
ops = {n.op_type for n in m.graph.node}
assert "Dropout" not in ops, ops
assert not any(a.name == "training_mode" and a.i for n in m.graph.node for a in n.attribute), "BatchNorm in training mode"
shape = [d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim[1:]]
with gzip.open(sys.argv[1] + "/t10k-images-idx3-ubyte.gz") as f:
    x = np.frombuffer(f.read(), np.uint8, offset=16).astype(np.float32) / 255
np.save("test_x.npy", x.reshape([-1] + shape))
with gzip.open(sys.argv[1] + "/t10k-labels-idx1-ubyte.gz") as f:
    np.save("test_y.npy", np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64))
PY

set +e
(source "$here/models/ort_setup.sh"; ort_setup train "$work" "$reuse" >&2
 node "$here/models/ort_run.js" trained.onnx test_x.npy ort "$ORT_MODULES")
rc=$?
set -e
if [ $rc -eq 77 ]; then echo "ONNX Runtime could not be installed: its comparison is skipped" >&2; exit 0; fi
[ $rc -eq 0 ]
$PY - "$acc" <<'PY'
import json, sys
import numpy as np
shape = json.load(open("ort/ort_outputs.json"))["outputs"][0]["shape"]
logits = np.fromfile("ort/ort_output_0.bin", np.float32).reshape(shape)
ort_acc = float((logits.argmax(1) == np.load("test_y.npy")).mean())
print(f"test accuracy: nnc {float(sys.argv[1]):.4f}, ONNX Runtime on the written model {ort_acc:.4f}")
assert abs(ort_acc - float(sys.argv[1])) <= 0.0005, "ONNX Runtime's accuracy differs"
PY
