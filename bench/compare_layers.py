#!/usr/bin/python3
"""Where the time goes: nnc's kernels against ONNX Runtime's, layer by layer, on one model.

Usage: bench/compare_layers.py MODEL.onnx [--input X.npy] [--threads N] [--iters N] [--top N]

Runs `nnc bench` with NNC_PROFILE=1 and bench/ort_bench.js with ONNX Runtime's profiler, both
on the same thread count, and prints a markdown table of the mean time per run of each layer,
largest gap first. The input defaults to MODEL's `.input.npy` twin (as bench/export_models.py
writes them); nnc is $NNC or build/nnc; ONNX Runtime comes from bench/work/node_modules (set
up by bench/run_bench.sh).

The two runtimes fuse differently and ONNX Runtime inserts layout conversions, so rows are
layers, not nodes: a node's time goes to its name's scope, the ONNX node name without its
last path component and a trailing `.N` index. '/features.3/conv/conv.0/conv.0.0/Conv' and
ONNX Runtime's '/features.3/conv/conv.0/conv.0.2/Clip_output_0_nchwc' (the Clip fused into
that convolution, named after its NCHWc output) both land on '/features.3/conv/conv.0/conv.0'.
Where ONNX Runtime names a fused node after an activation's output from another scope
('/layer1/layer1.0/relu/Relu_output_0_nchwc', the ReLU fused into conv1), its time goes to
the convolution that the model's graph shows feeding that activation (ort_scope).
Nodes without a path (exporter names like 'Gate_2') are rows of their own.
"""
import argparse
import collections
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WARMUP = 3  # runs before the timed ones; nnc bench's default


def scope(name):
    """The layer a node's time is counted under (see the module's docstring)."""
    name = re.sub(r"_output_\d+(_nchwc)?$", "", name)
    if "/" in name:
        name = name.rsplit("/", 1)[0]
    return re.sub(r"\.\d+$", "", name)


KERNEL_OPS = {"Conv", "ConvTranspose", "Gemm", "MatMul"}
# Element-wise ops that ONNX Runtime fuses into a convolution (activations, the residual Add).
FUSABLE_OPS = {"Relu", "Clip", "Sigmoid", "Mul", "Add", "Sum", "LeakyRelu", "HardSigmoid", "HardSwish", "Tanh"}


def producers_of(model_path):
    """tensor name -> (op type, node name, input names) for each node output of the model."""
    import onnx
    graph = onnx.load(model_path, load_external_data=False).graph
    return {out: (n.op_type, n.name, list(n.input)) for n in graph.node for out in n.output}


def ort_scope(name, producers):
    """The layer of an ONNX Runtime node: a node named after a tensor ('X_output_0_nchwc') counts
    under the convolution or matrix product that the activation producing X is applied to."""
    m = re.match(r"^(.*_output_\d+)(?:_nchwc)?$", name)
    node = producers.get(m.group(1)) if m else None
    for _ in range(4):  # an activation chain is short: Clip, or Sigmoid then Mul
        if node is None or node[0] not in FUSABLE_OPS:
            break
        feeders = [producers[i] for i in node[2] if i in producers]
        node = next((f for f in feeders if f[0] in KERNEL_OPS), feeders[0] if feeders else None)
    if node is not None and node[0] in KERNEL_OPS:
        return scope(node[1])
    return scope(name)


NNC_LINE = re.compile(r"^\s*[0-9.]+ ms\s+[0-9.]+%\s+([0-9.]+) ms/run\s+(?:\[reference\] )?\S+ '([^']*)'")


def nnc_layers(profile_text):
    """ms per run by layer, from NNC_PROFILE's report (one line per step, the step's first node
    quoted after its op)."""
    layers = collections.defaultdict(float)
    for line in profile_text.splitlines():
        m = NNC_LINE.match(line)
        if m:
            layers[scope(m.group(2))] += float(m.group(1))
    return layers


def ort_layers(events, warmup, producers=None):
    """ms per run by layer, from ONNX Runtime's profile (a list of trace events), leaving out
    the first `warmup` runs; `producers` (see producers_of) places nodes named after tensors."""
    starts = sorted(e["ts"] for e in events if e.get("cat") == "Session" and e.get("name") == "model_run")
    if len(starts) <= warmup:
        raise ValueError(f"the profile holds {len(starts)} runs, not more than the {warmup} warm-up runs")
    layers = collections.defaultdict(float)
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time") and e["ts"] >= starts[warmup]:
            layers[ort_scope(e["name"][: -len("_kernel_time")], producers or {})] += e["dur"] / 1000.0 / (len(starts) - warmup)
    return layers


def table(nnc, ort, top):
    rows = sorted(set(nnc) | set(ort), key=lambda k: -(nnc.get(k, 0.0) - ort.get(k, 0.0)))
    out = ["| layer | nnc ms | ORT ms | nnc - ORT ms | nnc / ORT |", "| --- | ---: | ---: | ---: | ---: |"]
    a, b = sum(nnc.values()), sum(ort.values())
    out.append(f"| **all kernels** | {a:.3f} | {b:.3f} | {a - b:+.3f} | {a / b if b else float('nan'):.2f} |")
    def ms(v):
        return f"{v:.3f}" if v is not None else "-"
    for k in rows[:top]:
        x, y = nnc.get(k), ort.get(k)
        ratio = f"{x / y:.2f}" if x and y else "-"
        out.append(f"| {k} | {ms(x)} | {ms(y)} | {(x or 0.0) - (y or 0.0):+.3f} | {ratio} |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--input")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters", type=int, default=100)
    ap.add_argument("--top", type=int, default=30)
    args = ap.parse_args()
    model = os.path.abspath(args.model)
    data = args.input or re.sub(r"\.onnx$", "", model) + ".input.npy"
    nnc = os.environ.get("NNC", os.path.join(ROOT, "build", "nnc"))
    modules = os.path.join(ROOT, "bench", "work", "node_modules")
    for path, what in [(model, "model"), (data, "input (--input)"), (nnc, "nnc ($NNC)"), (modules, "onnxruntime-node (run bench/run_bench.sh once)")]:
        if not os.path.exists(path):
            sys.exit(f"compare_layers: no {what} at {path}")
    env = dict(os.environ, NNC_PROFILE="1", NNC_PROFILE_SKIP=str(WARMUP))
    r = subprocess.run([nnc, "bench", model, "--threads", str(args.threads), "--iters", str(args.iters), "--warmup", str(WARMUP)], env=env,
                       capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"compare_layers: nnc bench failed:\n{r.stderr}")
    nnc_ms = nnc_layers(r.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        r = subprocess.run(["node", os.path.join(ROOT, "bench", "ort_bench.js"), model, data, str(args.threads),
                            str(args.iters), str(WARMUP), modules, os.path.join(tmp, "ort")], capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"compare_layers: ONNX Runtime failed:\n{r.stderr}")
        with open(json.loads(r.stdout.strip().splitlines()[-1])["profile_file"]) as f:
            ort_ms = ort_layers(json.load(f), WARMUP, producers_of(model))
    print(f"{os.path.basename(model)}, {args.threads} threads: mean ms per run of each layer's kernels"
          f" ({WARMUP} warm-up runs left out)\n")
    print(table(nnc_ms, ort_ms, args.top))


if __name__ == "__main__":
    main()
