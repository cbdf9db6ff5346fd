#!/usr/bin/env bash
# The nnc command end to end: exit codes, --help, and `nnc run ... --save-outputs` on ONNX
# node tests, whose saved outputs are compared with the expected .pb files by numpy.
#   bash tests/cli_test.sh NNC_BINARY WORK_DIR
set -u
NNC=$1 WORK=$2
DATA=/usr/share/libonnx-testdata/data/node
PY=/usr/bin/python3
mkdir -p "$WORK"
passed=0 failed=0
expect() {  # expect NAME WANTED_RC CMD...
  local name=$1 want=$2; shift 2
  "$@" >"$WORK/out" 2>"$WORK/err" </dev/null
  local rc=$?
  if [[ $rc -eq $want ]]; then passed=$((passed + 1)); echo "ok   $name";
  else failed=$((failed + 1)); echo "FAIL $name: exit $rc, expected $want: $(head -c 300 "$WORK/err")"; fi
}
expect "no subcommand is a usage error" 1 "$NNC"
expect "unknown option is a usage error" 1 "$NNC" run --no-such-flag x.onnx
expect "--help" 0 "$NNC" run --help
expect "--version" 0 "$NNC" --version
expect "missing file is a model error" 2 "$NNC" info "$WORK/does-not-exist.onnx"
expect "info on the example" 0 "$NNC" info examples/models/tiny_cnn.onnx
expect "check on the example" 0 "$NNC" check examples/models/tiny_cnn.onnx
expect "run with a symbolic batch of 3" 0 "$NNC" run examples/models/tiny_cnn.onnx --dim N=3
grep -q "float32\[3,10\]" "$WORK/out" && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL batch 3 not in output"; }
expect "input of the wrong shape fails while running" 3 "$NNC" run "$DATA/test_relu/model.onnx" "$DATA/test_conv_with_strides_padding/test_data_set_0/input_0.pb"
$PY - "$WORK/custom_op.onnx" <<'PYEOF'
import sys
from onnx import TensorProto, helper
node = helper.make_node("FooBarOp", ["x"], ["y"], domain="com.example")
graph = helper.make_graph([node], "custom", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.example", 1)])
open(sys.argv[1], "wb").write(model.SerializeToString())
PYEOF
expect "check lists unsupported ops" 2 "$NNC" check "$WORK/custom_op.onnx"
grep -q "unsupported op: FooBarOp" "$WORK/out" && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL FooBarOp not listed"; }

# nnc optimize: the example's BNs fold and its ReLUs fuse; files are never overwritten unasked.
opt="$WORK/tiny_cnn.opt.onnx"
rm -f "$opt"
expect "optimize --verify the example" 0 "$NNC" optimize examples/models/tiny_cnn.onnx -o "$opt" --verify --dim N=2
grep -Eq "^BatchNormalization +2 +0" "$WORK/out" && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL BN count not 2 -> 0"; }
expect "optimize refuses to overwrite" 3 "$NNC" optimize examples/models/tiny_cnn.onnx -o "$opt"
grep -q "already exists" "$WORK/err" && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL no 'already exists'"; }
expect "optimize --force overwrites" 0 "$NNC" optimize examples/models/tiny_cnn.onnx -o "$opt" --force
expect "optimize with an unknown pass is a usage error" 1 "$NNC" optimize examples/models/tiny_cnn.onnx -o "$WORK/x.onnx" --passes dce,no-such-pass
expect "optimize --passes --print-after" 0 "$NNC" optimize examples/models/tiny_cnn.onnx -o "$WORK/p.onnx" --force --passes fold-batchnorm,fold-constants,dce --print-after fold-constants
grep -q "; IR after fold-constants" "$WORK/out" && ! grep -q "; IR after dce" "$WORK/out" && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL --print-after"; }
expect "the optimised example runs" 0 "$NNC" run "$opt" --seed 4 --save-outputs "$WORK/opt_out"
expect "the original example runs" 0 "$NNC" run examples/models/tiny_cnn.onnx --seed 4 --save-outputs "$WORK/orig_out"
if $PY - "$WORK/orig_out/output_0.pb" "$WORK/opt_out/output_0.pb" <<'PYEOF'; then passed=$((passed + 1)); echo "ok   optimised outputs match"; else failed=$((failed + 1)); echo "FAIL optimised outputs differ"; fi
import sys
import numpy as np
from onnx import TensorProto, numpy_helper
def load(p):
    t = TensorProto(); t.ParseFromString(open(p, "rb").read()); return numpy_helper.to_array(t)
np.testing.assert_allclose(load(sys.argv[2]), load(sys.argv[1]), rtol=1e-4, atol=1e-6)
PYEOF

for t in test_conv_with_strides_padding test_gemm_all_attributes test_maxpool_2d_pads test_layer_normalization_4d_axis0; do
  rm -rf "$WORK/$t"
  expect "run $t --save-outputs" 0 "$NNC" run "$DATA/$t/model.onnx" "$DATA/$t"/test_data_set_0/input_*.pb --save-outputs "$WORK/$t"
  if $PY - "$DATA/$t/test_data_set_0" "$WORK/$t" <<'PYEOF'; then passed=$((passed + 1)); echo "ok   $t outputs match"; else failed=$((failed + 1)); echo "FAIL $t outputs"; fi
import glob, os, sys
import numpy as np
from onnx import TensorProto, numpy_helper
def load(p):
    t = TensorProto(); t.ParseFromString(open(p, "rb").read()); return numpy_helper.to_array(t)
want_dir, got_dir = sys.argv[1], sys.argv[2]
for i in range(len(glob.glob(os.path.join(want_dir, "output_*.pb")))):
    want, got = load(f"{want_dir}/output_{i}.pb"), load(f"{got_dir}/output_{i}.pb")
    assert want.shape == got.shape and want.dtype == got.dtype, (want.shape, got.shape)
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-7)
PYEOF
done
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
