#!/bin/bash
# Check `nnc optimize` on real PyTorch-exported models: the optimised model is valid ONNX, has
# no BatchNormalization left, has its gates fused, is smaller, and computes what the original
# computes (ONNX Runtime on the original is the reference).
#
# Usage: optimize_models.sh NNC_BINARY WORK_DIR
# Needs what compare_with_ort.sh needs: Debian's /usr/bin/python3 with torch, torchvision,
# onnx and numpy, and node/npm (onnxruntime-node is installed from npm; exit 77 = skipped
# when it cannot be).
#
# Per model three optimisations are checked:
#   default          nnc optimize MODEL -o opt.onnx (nnc-domain fused ops, written with ONNX
#                    functions): run with ONNX Runtime and with `nnc run`
#   --standard-only  only standard ONNX ops: run with ONNX Runtime
#   --verify         (small models) the reference interpreter checks every pass
# Outputs pass when max |got - ort(original)| <= 1e-4 * max(1, max |ort(original)|).
set -u
NNC=$(realpath "${1:?usage: optimize_models.sh NNC_BINARY WORK_DIR}")
WORK=$(mkdir -p "${2:?usage: optimize_models.sh NNC_BINARY WORK_DIR}" && realpath "$2")
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/ort_setup.sh"
# Reuses the onnxruntime-node that compare_with_ort.sh installed next door, if it did.
ort_setup optimize_models "$WORK" "$WORK/../models/node_modules"

start=$EPOCHREALTIME
$PY "$HERE/export_optimizer_models.py" "$WORK/models" >"$WORK/export.log" 2>&1 \
  || { tail -n 20 "$WORK/export.log" >&2; echo "optimize_models: export failed" >&2; exit 1; }
awk -v s="$start" -v e="$EPOCHREALTIME" 'BEGIN { printf "exported the models in %.1f s\n", e - s }'

# structure VARIANT NAME ORIGINAL OPTIMISED: checks on the optimised model's graph.
structure() {
  $PY - "$@" <<'EOF'
import sys
import onnx
variant, name, orig_path, opt_path = sys.argv[1:]
orig, opt = onnx.load(orig_path), onnx.load(opt_path)
nodes = opt.graph.node
ok = True

def report(what, good, detail=""):
    global ok
    ok = ok and good
    print(f"  [{variant}] {what}{': ' + detail if detail else ''}: {'pass' if good else 'FAIL'}")

try:
    onnx.checker.check_model(opt, full_check=True)
    report("onnx.checker.check_model(full_check=True)", True)
except Exception as e:
    report("onnx.checker.check_model(full_check=True)", False, str(e).strip().splitlines()[0])

def standard(n):
    return n.domain in ("", "ai.onnx")

bn = sum(1 for n in nodes if standard(n) and n.op_type == "BatchNormalization")
report("no BatchNormalization left", bn == 0, f"{bn} left")

before, after = len(orig.graph.node), len(nodes)
report("node count drops", after < before, f"{before} -> {after}")

if variant == "standard-only":
    custom = sorted({f"{n.domain}.{n.op_type}" for n in nodes if not standard(n)})
    report("only standard ONNX ops", not custom, ", ".join(custom) if custom else "")
else:
    consumers = {}
    for n in nodes:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    if name in ("efficientnet_b0", "swiglu_ffn", "glu_cnn"):
        # SiLU written out: Mul(x, Sigmoid(x)).
        silu = 0
        for s in nodes:
            if standard(s) and s.op_type == "Sigmoid":
                for m in consumers.get(s.output[0], []):
                    if standard(m) and m.op_type == "Mul" and s.input[0] in m.input:
                        silu += 1
        report("no unfused SiLU Mul(x, Sigmoid(x))", silu == 0, f"{silu} left")
    if name == "glu_cnn":
        # GLU written out: Split -> Sigmoid -> Mul.
        producer = {o: n for n in nodes for o in n.output}
        glu = sum(1 for s in nodes if standard(s) and s.op_type == "Sigmoid"
                  and getattr(producer.get(s.input[0]), "op_type", "") == "Split")
        report("no unfused GLU Split -> Sigmoid -> Mul", glu == 0, f"{glu} left")
    if name in ("swiglu_ffn", "glu_cnn"):
        gates = [n.op_type for n in nodes if n.domain == "nnc" and n.op_type.startswith("Gate")]
        report("gate fused into an nnc Gate op", bool(gates), ", ".join(gates) or "none")
sys.exit(0 if ok else 1)
EOF
}

# compare VARIANT REF_DIR GOT_DIR: ONNX Runtime's outputs of the original (REF_DIR/ort_output_<i>.bin)
# against GOT_DIR's: ONNX Runtime's (ort_output_<i>.bin) or nnc run's (output_<i>.pb).
compare() {
  $PY - "$HERE" "$@" <<'EOF'
import sys
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, sys.argv[1])
from output_check import close, has_ort_outputs, nnc_output, ort_outputs
variant, ref_dir, got_dir = sys.argv[2:]
if not has_ort_outputs(ref_dir):
    print(f"  [{variant}] no outputs of the original model to compare with: FAIL")
    sys.exit(1)
got = ort_outputs(got_dir) if has_ort_outputs(got_dir) else None
results = [close(f"[{variant}] output {i} ({name}) vs original",
                 got[i][1] if got else nnc_output(got_dir, i), ref)
           for i, (name, ref) in enumerate(ort_outputs(ref_dir))]
sys.exit(0 if all(results) else 1)
EOF
}

# ort MODEL OUTDIR: ONNX Runtime's outputs of MODEL on this model's input into OUTDIR; its log
# (ONNX Runtime warns about every unused initializer) is shown only when it fails.
ort() {
  node "$HERE/ort_run.js" "$1" "$input" "$2" "$ORT_MODULES" >"$2.log" 2>&1 \
    || { grep -v '\[W:onnxruntime' "$2.log" | tail -n 5 | sed 's/^/    /'; return 1; }
}

# optimize VARIANT MODEL OUT [FLAGS...]: run nnc optimize, report exit code and time.
optimize() {
  local variant=$1 model=$2 out=$3 rc
  shift 3
  local log="${out%.onnx}.txt" start=$EPOCHREALTIME
  "$NNC" optimize "$model" -o "$out" "$@" >"$log" 2>&1
  rc=$?
  if [ $rc = 0 ] && [ -f "$out" ]; then
    awk -v s="$start" -v e="$EPOCHREALTIME" -v v="$variant" -v f="${*:+ $*}" \
      'BEGIN { printf "  [%s] nnc optimize%s: %.2f s: pass\n", v, f, e - s }'
    return 0
  fi
  echo "  [$variant] nnc optimize${*:+ $*} exited with $rc: FAIL"
  sed 's/^/    /' "$log" | tail -n 20
  return 1
}

passed=0 failed=0
for name in glu_cnn swiglu_ffn mobilenet_v2 efficientnet_b0 resnet18 resnet50; do
  model="$WORK/models/$name.onnx" input="$WORK/models/$name.input.npy" dir="$WORK/$name"
  rm -rf "$dir" && mkdir -p "$dir"
  echo "== $name"
  ok=1
  if ! ort "$model" "$dir/ort_original"; then
    echo "  ONNX Runtime failed on the original model: FAIL"; ok=0
  fi

  # default pipeline: nnc-domain fused ops (written with ONNX functions, so ONNX Runtime runs
  # them too); nnc's reference interpreter runs the result as well
  if optimize default "$model" "$dir/opt.onnx"; then
    structure default "$name" "$model" "$dir/opt.onnx" || ok=0
    if ort "$dir/opt.onnx" "$dir/ort_opt"; then
      compare "default, ORT" "$dir/ort_original" "$dir/ort_opt" || ok=0
    else
      echo "  [default] ONNX Runtime failed on the optimised model: FAIL"; ok=0
    fi
    if "$NNC" run "$dir/opt.onnx" "$input" --save-outputs "$dir/nnc_opt" >"$dir/nnc_run.txt" 2>&1; then
      compare "default, nnc run" "$dir/ort_original" "$dir/nnc_opt" || ok=0
    else
      echo "  [default] nnc run on the optimised model failed: FAIL"
      tail -n 5 "$dir/nnc_run.txt" | sed 's/^/    /'; ok=0
    fi
  else
    ok=0
  fi

  # standard ONNX ops only: ONNX Runtime runs the result
  if optimize standard-only "$model" "$dir/opt_std.onnx" --standard-only; then
    structure standard-only "$name" "$model" "$dir/opt_std.onnx" || ok=0
    if ort "$dir/opt_std.onnx" "$dir/ort_opt_std"; then
      compare "standard-only, ORT" "$dir/ort_original" "$dir/ort_opt_std" || ok=0
    else
      echo "  [standard-only] ONNX Runtime failed on the optimised model: FAIL"; ok=0
    fi
  else
    ok=0
  fi

  # --verify: the reference interpreter before and after every pass (small models only)
  case $name in glu_cnn|swiglu_ffn|mobilenet_v2)
    if optimize verify "$model" "$dir/opt_verify.onnx" --verify; then
      structure verify "$name" "$model" "$dir/opt_verify.onnx" || ok=0
    else
      ok=0
    fi
  esac

  if [ $ok = 1 ]; then echo "  $name: pass"; passed=$((passed + 1))
  else echo "  $name: FAIL"; failed=$((failed + 1)); fi
done

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
