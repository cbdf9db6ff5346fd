#!/usr/bin/python3
"""Export PyTorch models (random weights) for testing `nnc optimize`, with a seeded input each.

Usage: /usr/bin/python3 export_optimizer_models.py OUTDIR
Writes OUTDIR/<name>.onnx and OUTDIR/<name>.input.npy (float32).

Unlike export_models.py these keep every BatchNormalization node and skip PyTorch's own
constant folding, so that nnc's optimiser has the folding and fusion work left to do:
torch.onnx's default TrainingMode.EVAL folds BatchNorm into the preceding Conv itself
(_jit_pass_onnx_eval_peephole, whatever do_constant_folding says); TrainingMode.PRESERVE
on a model in eval mode exports inference-mode BatchNormalization nodes instead.
"""
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_models import OPSET, calibrate_batchnorm  # noqa: E402

# 160x160 rather than 224x224 keeps the test fast; every layer still runs (the smallest
# feature map of resnet/mobilenet/efficientnet is then 5x5 rather than 7x7).
IMAGE = (1, 3, 160, 160)


class SwiGLUFeedForward(torch.nn.Module):
    """Pre-norm transformer feed-forward block with a SwiGLU gate (as in LLaMA)."""

    def __init__(self, dim=64, hidden=172):
        super().__init__()
        self.norm = torch.nn.LayerNorm(dim)
        self.w1 = torch.nn.Linear(dim, hidden, bias=False)
        self.w3 = torch.nn.Linear(dim, hidden, bias=False)
        self.w2 = torch.nn.Linear(hidden, dim, bias=False)

    def forward(self, x):
        h = self.norm(x)
        return self.w2(F.silu(self.w1(h)) * self.w3(h)) + x


class GLUConvNet(torch.nn.Module):
    """Small CNN with a GLU gate over channels between two Conv+BatchNorm layers."""

    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 16, 3, padding=1)
        self.bn1 = torch.nn.BatchNorm2d(16)
        self.conv2 = torch.nn.Conv2d(8, 8, 3, padding=1)
        self.bn2 = torch.nn.BatchNorm2d(8)
        self.pool = torch.nn.AdaptiveAvgPool2d(1)
        self.fc = torch.nn.Linear(8, 10)

    def forward(self, x):
        x = F.glu(self.bn1(self.conv1(x)), dim=1)
        x = F.relu(self.bn2(self.conv2(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


def models():
    yield "resnet18", torchvision.models.resnet18(weights=None), IMAGE
    yield "resnet50", torchvision.models.resnet50(weights=None), IMAGE
    yield "mobilenet_v2", torchvision.models.mobilenet_v2(weights=None), IMAGE
    yield "efficientnet_b0", torchvision.models.efficientnet_b0(weights=None), IMAGE
    yield "swiglu_ffn", SwiGLUFeedForward(), (1, 16, 64)
    yield "glu_cnn", GLUConvNet(), (1, 3, 32, 32)


def randomise_batchnorm_affine(model):
    """Give BatchNorm non-trivial scale and shift (torch initialises them to 1 and 0)."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.affine:
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else "."
    os.makedirs(outdir, exist_ok=True)
    torch.manual_seed(0)
    for name, model, shape in models():
        start = time.time()
        randomise_batchnorm_affine(model)
        # Running mean/variance from random batches: non-trivial, and keeps activations of
        # the deep models at a sensible scale (see export_models.py).
        calibrate_batchnorm(model, shape)
        model.eval()
        x = torch.randn(*shape, dtype=torch.float32)
        path = os.path.join(outdir, name + ".onnx")
        torch.onnx.export(model, (x,), path, opset_version=OPSET, do_constant_folding=False,
                          training=torch.onnx.TrainingMode.PRESERVE,
                          input_names=["input"], output_names=["output"])
        np.save(os.path.join(outdir, name + ".input.npy"), x.numpy())
        print(f"exported {path} (opset {OPSET}, input {list(shape)}, {time.time() - start:.1f} s)")


if __name__ == "__main__":
    main()
