"""Output comparison shared by the model tests: ONNX Runtime's raw float32 dumps (written by
ort_run.js) and nnc's TensorProto files, checked to within 1e-4 of the reference's scale."""
import json
import os

import numpy as np
import onnx
from onnx import numpy_helper


def ort_outputs(d):
    """[(name, array)] from ort_run.js's d/ort_outputs.json and d/ort_output_<i>.bin."""
    meta = json.load(open(f"{d}/ort_outputs.json"))["outputs"]
    return [(o["name"], np.fromfile(f"{d}/ort_output_{i}.bin", dtype="<f4").reshape(o["shape"]))
            for i, o in enumerate(meta)]


def has_ort_outputs(d):
    return os.path.exists(f"{d}/ort_outputs.json")


def nnc_output(d, i):
    """nnc run --save-outputs d's output i."""
    t = onnx.TensorProto()
    t.ParseFromString(open(f"{d}/output_{i}.pb", "rb").read())
    return numpy_helper.to_array(t)


def close(label, got, ref):
    """Prints one line and returns whether max |got - ref| <= 1e-4 * max(1, max |ref|) (NaN fails)."""
    if got.shape != ref.shape:
        print(f"  {label}: shape {list(got.shape)}, the reference has {list(ref.shape)}: FAIL")
        return False
    diff = float(np.max(np.abs(got.astype(np.float64) - ref))) if ref.size else 0.0
    scale = float(np.max(np.abs(ref))) if ref.size else 0.0
    good = diff <= 1e-4 * max(1.0, scale)
    print(f"  {label}: max abs diff {diff:.3g}, output scale {scale:.3g}: {'pass' if good else 'FAIL'}")
    return good
