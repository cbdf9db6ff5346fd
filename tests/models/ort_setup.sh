# Sourced by the model tests. Checks that Debian's Python can export models, and installs
# onnxruntime-node from npm, setting ORT_MODULES (a node_modules folder holding it).
#   ort_setup WHO MODULES_DIR [REUSE_DIR]
# REUSE_DIR: a node_modules folder another test may already have filled.
# Exits 1 when Python lacks a package, and 77 (ctest: skipped, never passed) when npm cannot
# install onnxruntime-node (no registry access, or a TLS proxy this machine does not trust).
PY=/usr/bin/python3
ORT_VERSION=1.30.0

ort_setup() {
  local who=$1 dir=$2 reuse=${3:-}
  if ! $PY -c 'import torch, torchvision, onnx, numpy' 2>/dev/null; then
    echo "$who: $PY cannot import torch, torchvision, onnx and numpy;" \
         "install python3-torch python3-torchvision python3-onnx libopenblas0-pthread" >&2
    exit 1
  fi
  if [ -n "$reuse" ] && [ -d "$reuse/onnxruntime-node" ]; then
    ORT_MODULES=$(realpath "$reuse")
    return
  fi
  ORT_MODULES="$dir/node_modules"
  [ -d "$ORT_MODULES/onnxruntime-node" ] && return
  echo "installing onnxruntime-node@$ORT_VERSION into $dir"
  npm install --ignore-scripts --no-audit --no-fund --prefix "$dir" \
      "onnxruntime-node@$ORT_VERSION" >"$dir/npm.log" 2>&1 \
    || { tail -n 5 "$dir/npm.log" >&2
         echo "SKIPPED: $who: onnxruntime-node could not be installed from npm" >&2; exit 77; }
}
