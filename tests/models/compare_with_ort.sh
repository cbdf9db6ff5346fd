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
  $PY - "$HERE" "$1" <<'EOF'
import sys
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, sys.argv[1])
from output_check import close, nnc_output, ort_outputs
d = sys.argv[2]
results = [close(f"output {i} ({name})", nnc_output(f"{d}/nnc", i), ref)
           for i, (name, ref) in enumerate(ort_outputs(f"{d}/ort"))]
sys.exit(0 if all(results) else 1)
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
