#!/usr/bin/python3
"""The ONNX backend tests checked without nnc's test runner: for each test,
`nnc run model.onnx test_data_set_N/input_*.pb --save-outputs DIR`, then the saved
outputs are compared here with the expected output_*.pb using ONNX's Python library
(rtol 1e-3, atol 1e-7, as ONNX's backend tests do). Prints the pass counts per folder.

    onnx_tests_via_cli.py NNC DATA_ROOT [--min-node-rate R] [--min-other-rate R] [--verbose]
"""
import argparse
import glob
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

OTHER_FOLDERS = ["pytorch-converted", "pytorch-operator", "simple"]


def load_value(path, type_proto):
    """A .pb file as the model's declared type says: a tensor, a sequence or an optional."""
    data = open(path, "rb").read()
    kind = type_proto.WhichOneof("value")
    if kind == "sequence_type":
        p = onnx.SequenceProto()
        p.ParseFromString(data)
        return ("seq", [tensor_array(t) for t in p.tensor_values])
    if kind == "optional_type":
        p = onnx.OptionalProto()
        p.ParseFromString(data)
        if p.HasField("tensor_value"):
            return ("opt", tensor_array(p.tensor_value))
        if p.HasField("sequence_value"):
            return ("opt", ("seq", [tensor_array(t) for t in p.sequence_value.tensor_values]))
        return ("opt", None)
    p = onnx.TensorProto()
    p.ParseFromString(data)
    return tensor_array(p)


def tensor_array(p):
    # bfloat16: nnc writes BFLOAT16, ONNX 1.12's test data stores the same bits as UINT16.
    if p.data_type in (onnx.TensorProto.BFLOAT16, onnx.TensorProto.UINT16) and p.raw_data:
        bits = np.frombuffer(p.raw_data, dtype=np.uint16).astype(np.uint32) << 16
        values = bits.view(np.float32).reshape(tuple(p.dims))
        return ("bf16-or-u16", values, np.frombuffer(p.raw_data, dtype=np.uint16).reshape(tuple(p.dims)))
    return numpy_helper.to_array(p)


def same(got, want):
    if isinstance(want, tuple) and want and want[0] == "bf16-or-u16":
        if not (isinstance(got, tuple) and got and got[0] == "bf16-or-u16"):
            got_arr = np.asarray(got)
            return got_arr.shape == want[2].shape and np.array_equal(got_arr, want[2])
        return same(got[1], want[1])
    if isinstance(want, tuple):
        if not isinstance(got, tuple) or got[0] != want[0]:
            return False
        if want[0] == "seq":
            return len(got[1]) == len(want[1]) and all(same(g, w) for g, w in zip(got[1], want[1]))
        if want[1] is None or got[1] is None:
            return want[1] is None and got[1] is None
        return same(got[1], want[1])
    if isinstance(got, tuple):
        return False
    if got.shape != want.shape or got.dtype != want.dtype:
        return False
    if want.dtype == object or want.dtype.kind in "SU":
        return np.array_equal(got, want)
    g, w = got.astype(np.float64), want.astype(np.float64)
    both_nan = np.isnan(g) & np.isnan(w)
    close = np.isclose(g, w, rtol=1e-3, atol=1e-7) | both_nan | (g == w)
    return bool(np.all(close))


def run_test(nnc, test_dir, scratch):
    model = onnx.load(os.path.join(test_dir, "model.onnx"), load_external_data=False)
    outputs = model.graph.output
    sets = sorted(glob.glob(os.path.join(test_dir, "test_data_set_*")))
    if not sets:
        return "no test data sets"
    for s in sets:
        inputs = sorted(glob.glob(os.path.join(s, "input_*.pb")), key=lambda p: int(p.rsplit("_", 1)[1][:-3]))
        out_dir = os.path.join(scratch, os.path.basename(test_dir) + "_" + os.path.basename(s))
        r = subprocess.run([nnc, "run", os.path.join(test_dir, "model.onnx"), *inputs, "--save-outputs", out_dir],
                           capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            return "nnc run exited %d: %s" % (r.returncode, (r.stderr.strip().splitlines() or [""])[-1])
        for i, out in enumerate(outputs):
            want = load_value(os.path.join(s, "output_%d.pb" % i), out.type)
            got_path = os.path.join(out_dir, "output_%d.pb" % i)
            if not os.path.exists(got_path):
                return "no output_%d.pb" % i
            if not same(load_value(got_path, out.type), want):
                return "output %d differs" % i
    return ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("nnc")
    ap.add_argument("data_root")
    ap.add_argument("--min-node-rate", type=float, default=0.0)
    ap.add_argument("--min-other-rate", type=float, default=0.0)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    ok = True
    with tempfile.TemporaryDirectory() as scratch:
        counts = {}
        for folder in ["node"] + OTHER_FOLDERS:
            tests = sorted(d for d in glob.glob(os.path.join(args.data_root, folder, "test_*")) if os.path.isdir(d))
            passed = 0
            for t in tests:
                why = run_test(args.nnc, t, scratch)
                passed += why == ""
                if why and args.verbose:
                    print("fail %s/%s: %s" % (folder, os.path.basename(t), why))
            counts[folder] = (passed, len(tests))
            print("%-18s %4d of %4d pass" % (folder, passed, len(tests)))
    node_pass, node_total = counts["node"]
    other_pass = sum(counts[f][0] for f in OTHER_FOLDERS)
    other_total = sum(counts[f][1] for f in OTHER_FOLDERS)
    node_rate = node_pass / max(node_total, 1)
    other_rate = other_pass / max(other_total, 1)
    print("node tests via `nnc run`: %d of %d (%.1f%%); the other three folders: %d of %d (%.1f%%)"
          % (node_pass, node_total, 100 * node_rate, other_pass, other_total, 100 * other_rate))
    if node_total == 0:
        print("no node tests found under %s (install Debian's libonnx-testdata)" % args.data_root)
        ok = False
    if node_rate < args.min_node_rate:
        print("node pass rate below the required %.1f%%" % (100 * args.min_node_rate))
        ok = False
    if other_rate < args.min_other_rate:
        print("other folders' pass rate below the required %.1f%%" % (100 * args.min_other_rate))
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
