#!/bin/bash
# Check that nnc's reference interpreter matches ONNX Runtime on real PyTorch-exported models.
#
# Usage: compare_with_ort.sh NNC_BINARY WORK_DIR
# Needs Debian's /usr/bin/python3 with torch, torchvision, onnx (python3-torch,
# python3-torchvision, python3-onnx; libopenblas0-pthread for speed) and node/npm.
# A model passes when max |nnc - ort| <= 1e-4 * max(1, max |ort|) on every output.
set -u
NNC=$(realpath "${1:?usage: compare_with_ort.sh NNC_BINARY WORK_DIR}")
WORK=$(mkdir -p "${2:?usage: compare_with_ort.sh NNC_BINARY WORK_DIR}" && realpath "$2")
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/ort_setup.sh"
ort_setup compare_with_ort "$WORK"

$PY "$HERE/export_models.py" "$WORK/models" || { echo "compare_with_ort: export failed" >&2; exit 1; }

# compare DIR: nnc's DIR/nnc/output_<i>.pb against ORT's DIR/ort/ort_output_<i>.bin.
compare() {
  $PY - "$1" <<'EOF'
import json, sys
import numpy as np, onnx
from onnx import numpy_helper
d = sys.argv[1]
outs = json.load(open(f"{d}/ort/ort_outputs.json"))["outputs"]
ok = True
for i, o in enumerate(outs):
    ort = np.fromfile(f"{d}/ort/ort_output_{i}.bin", dtype="<f4").reshape(o["shape"])
    t = onnx.TensorProto()
    t.ParseFromString(open(f"{d}/nnc/output_{i}.pb", "rb").read())
    got = numpy_helper.to_array(t)
    if got.shape != ort.shape:
        print(f"  output {i} ({o['name']}): shape {list(got.shape)}, ORT has {list(ort.shape)}")
        ok = False
        continue
    diff = float(np.max(np.abs(got.astype(np.float64) - ort))) if ort.size else 0.0
    scale = float(np.max(np.abs(ort))) if ort.size else 0.0
    good = diff <= 1e-4 * max(1.0, scale)   # NaN fails
    ok = ok and good
    print(f"  output {i} ({o['name']}): max abs diff {diff:.3g}, output scale {scale:.3g}:"
          f" {'pass' if good else 'FAIL'}")
sys.exit(0 if ok else 1)
EOF
}

passed=0 failed=0
for name in resnet18 mobilenet_v2 transformer_encoder; do
  model="$WORK/models/$name.onnx" input="$WORK/models/$name.input.npy" dir="$WORK/$name"
  rm -rf "$dir" && mkdir -p "$dir"
  echo "== $name"
  ok=1
  "$NNC" info "$model" >"$dir/info.txt" 2>&1 || { echo "  nnc info failed:"; cat "$dir/info.txt"; ok=0; }
  "$NNC" check "$model" >"$dir/check.txt" 2>&1 || { echo "  nnc check failed:"; cat "$dir/check.txt"; ok=0; }
  start=$EPOCHREALTIME
  if "$NNC" run "$model" "$input" --save-outputs "$dir/nnc" >"$dir/run.txt" 2>&1; then
    awk -v s="$start" -v e="$EPOCHREALTIME" 'BEGIN { printf "  nnc run: %.2f s\n", e - s }'
  else
    echo "  nnc run failed:"; tail -5 "$dir/run.txt"; ok=0
  fi
  node "$HERE/ort_run.js" "$model" "$input" "$dir/ort" "$ORT_MODULES" || ok=0
  [ $ok = 1 ] && { compare "$dir" || ok=0; }
  if [ $ok = 1 ]; then echo "  $name: pass"; passed=$((passed + 1))
  else echo "  $name: FAIL"; failed=$((failed + 1)); fi
done

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
