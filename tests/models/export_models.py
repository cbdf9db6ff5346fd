#!/usr/bin/python3
"""Export a few real PyTorch models (random weights) to ONNX, with a seeded input each.

Usage: /usr/bin/python3 export_models.py OUTDIR
Writes OUTDIR/<name>.onnx and OUTDIR/<name>.input.npy (float32).
"""
import os
import sys

import numpy as np
import torch
import torchvision

try:
    from torch.onnx._constants import ONNX_MAX_OPSET
except ImportError:
    ONNX_MAX_OPSET = 17
OPSET = min(17, ONNX_MAX_OPSET)


def models():
    yield "resnet18", torchvision.models.resnet18(weights=None), (1, 3, 224, 224)
    yield "mobilenet_v2", torchvision.models.mobilenet_v2(weights=None), (1, 3, 224, 224)
    layer = torch.nn.TransformerEncoderLayer(
        d_model=64, nhead=4, dim_feedforward=128, batch_first=True)
    yield "transformer_encoder", torch.nn.TransformerEncoder(
        layer, num_layers=2, enable_nested_tensor=False), (2, 10, 64)


def calibrate_batchnorm(model, shape):
    """Set BatchNorm running statistics from a few random batches, as training would.

    With the default statistics (mean 0, variance 1) activations of randomly initialised
    MobileNetV2 shrink layer by layer to an output around 1e-9, which would test nothing.
    """
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average over the batches below
    model.train()
    with torch.no_grad():
        for _ in range(4):
            model(torch.randn(8, *shape[1:]))


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else "."
    os.makedirs(outdir, exist_ok=True)
    torch.manual_seed(0)
    for name, model, shape in models():
        calibrate_batchnorm(model, shape)
        model.eval()
        x = torch.randn(*shape, dtype=torch.float32)
        path = os.path.join(outdir, name + ".onnx")
        # No torch.no_grad(): with grad enabled, TransformerEncoderLayer skips its fused
        # fast path (aten::_transformer_encoder_layer_fwd), which has no ONNX export.
        torch.onnx.export(model, (x,), path, opset_version=OPSET,
                          input_names=["input"], output_names=["output"])
        np.save(os.path.join(outdir, name + ".input.npy"), x.numpy())
        print(f"exported {path} (opset {OPSET}, input {list(shape)})")


if __name__ == "__main__":
    main()
