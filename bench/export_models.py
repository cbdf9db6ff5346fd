#!/usr/bin/python3
"""Export the benchmark models (random weights, batch 1) with Debian's PyTorch.

Usage: /usr/bin/python3 export_models.py OUTDIR
Writes OUTDIR/<name>.onnx and OUTDIR/<name>.input.npy (float32) for: torchvision resnet18,
resnet50, mobilenet_v2 and efficientnet_b0 at 224x224; a pre-norm SwiGLU feed-forward
block (LLaMA-style, 128 tokens of width 512); a 2-layer torch.nn.TransformerEncoder.
torch.onnx's default eval export folds BatchNorm into the convolutions, as users get it.
"""
import os
import sys

import numpy as np
import torch
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "models"))
from export_models import OPSET, calibrate_batchnorm  # noqa: E402
from export_optimizer_models import SwiGLUFeedForward  # noqa: E402

IMAGE = (1, 3, 224, 224)


def models():
    yield "resnet18", torchvision.models.resnet18(weights=None), IMAGE
    yield "resnet50", torchvision.models.resnet50(weights=None), IMAGE
    yield "mobilenet_v2", torchvision.models.mobilenet_v2(weights=None), IMAGE
    yield "efficientnet_b0", torchvision.models.efficientnet_b0(weights=None), IMAGE
    yield "swiglu_ffn", SwiGLUFeedForward(dim=512, hidden=1376), (1, 128, 512)
    layer = torch.nn.TransformerEncoderLayer(d_model=256, nhead=4, dim_feedforward=1024, batch_first=True)
    yield "transformer_encoder", torch.nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False), (1, 128, 256)


def main():
    outdir = sys.argv[1]
    only = set(sys.argv[2:])
    os.makedirs(outdir, exist_ok=True)
    torch.manual_seed(0)
    for name, model, shape in models():
        if only and name not in only:
            continue
        path = os.path.join(outdir, name + ".onnx")
        if os.path.exists(path):
            continue
        calibrate_batchnorm(model, shape)
        model.eval()
        x = torch.randn(*shape, dtype=torch.float32)
        torch.onnx.export(model, (x,), path, opset_version=OPSET, input_names=["input"], output_names=["output"])
        np.save(os.path.join(outdir, name + ".input.npy"), x.numpy())
        print(f"exported {name} (input {list(shape)})")


if __name__ == "__main__":
    main()
