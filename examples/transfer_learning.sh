#!/usr/bin/env bash
# The classic transfer-learning experiment on Fashion-MNIST, with `nnc new` and `nnc train`:
#   A     an MLP trained on the eight classes other than sandal (5) and shirt (6)
#   B     the same MLP trained from scratch on only 200 labelled sandal/shirt images
#   B-on-A  A's hidden layers, frozen, under a new 2-class head trained on those 200 images
#   B-on-A fine-tuned: then everything unfrozen and trained on, at a lower learning rate
# Each is evaluated on the 2,000 sandal/shirt test images (A on its own eight classes).
# Usage: examples/transfer_learning.sh [WORK_DIR]   (NNC=path/to/nnc, DATA=fashion-mnist dir)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
nnc=${NNC:-$root/build/nnc}
data=${DATA:-$root/../shared/data/fashion-mnist}
work=${1:-$root/build/transfer-learning}
[ -d "$data" ] || data=/work/shared/data/fashion-mnist
[ -d "$data" ] || { echo "SKIPPED: no Fashion-MNIST at ../shared/data/fashion-mnist (set DATA)" >&2; exit 77; }
mkdir -p "$work"

# The two tasks' datasets as NPY directories (x_train.npy, y_train.npy, x_test.npy, y_test.npy).
/usr/bin/python3 - "$data" "$work" <<'PY'
import gzip, os, sys
import numpy as np
src, out = sys.argv[1], sys.argv[2]
def idx(name):
    path = os.path.join(src, name)
    opener = gzip.open if os.path.exists(path + ".gz") else open
    with opener(path + ".gz" if os.path.exists(path + ".gz") else path, "rb") as f:
        raw = f.read()
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(raw[3])]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * len(dims)).reshape(dims)
xs = {"train": idx("train-images-idx3-ubyte"), "test": idx("t10k-images-idx3-ubyte")}
ys = {"train": idx("train-labels-idx1-ubyte"), "test": idx("t10k-labels-idx1-ubyte")}
rng = np.random.default_rng(0)
eight = [c for c in range(10) if c not in (5, 6)]
for split in ("train", "test"):
    keep = np.isin(ys[split], eight)  # task A: labels renumbered 0..7
    os.makedirs(f"{out}/a", exist_ok=True)
    np.save(f"{out}/a/x_{split}.npy", xs[split][keep])
    np.save(f"{out}/a/y_{split}.npy", np.searchsorted(eight, ys[split][keep]).astype(np.int64))
    pair = np.flatnonzero(np.isin(ys[split], (5, 6)))  # task B: sandal 0, shirt 1
    if split == "train":
        pair = rng.choice(pair, 200, replace=False)
    os.makedirs(f"{out}/b", exist_ok=True)
    np.save(f"{out}/b/x_{split}.npy", xs[split][pair])
    np.save(f"{out}/b/y_{split}.npy", (ys[split][pair] == 6).astype(np.int64))
PY

accuracy() { tail -n 1 | /usr/bin/python3 -c 'import json, sys; print("%.2f%%" % (100 * json.load(sys.stdin)["test_accuracy"]))'; }
train() { "$nnc" train "$@" --overwrite --json --seed 1 | tee /dev/stderr | accuracy; }

"$nnc" new mlp --classes 8 -o "$work/a.onnx" --seed 1 --overwrite >&2
"$nnc" new mlp --classes 2 -o "$work/b-scratch.onnx" --seed 2 --overwrite >&2
acc_a=$(train "$work/a.onnx" --data "$work/a" -o "$work/a-trained.onnx" --epochs 5)
acc_b=$(train "$work/b-scratch.onnx" --data "$work/b" -o "$work/b-scratch-trained.onnx" --epochs 20 --batch 20)
acc_ba=$(train "$work/a-trained.onnx" --new-head 2 --freeze 'fc1.*' --freeze 'fc2.*' --data "$work/b" \
  -o "$work/b-on-a.onnx" --epochs 20 --batch 20)
acc_ft=$(train "$work/b-on-a.onnx" --data "$work/b" -o "$work/b-on-a-finetuned.onnx" --epochs 10 --batch 20 --lr 0.0001)

cat <<EOF2

| model (MLP 784-300-100) | trained on | test accuracy |
| --- | --- | ---: |
| A | 8 classes (no sandal, no shirt), ~48,000 images | $acc_a (on those 8 classes) |
| B from scratch | 200 sandal/shirt images | $acc_b |
| B on A's frozen hidden layers, new head | the same 200 images | $acc_ba |
| B on A, then fine-tuned unfrozen (lr 1e-4) | the same 200 images | $acc_ft |
EOF2
