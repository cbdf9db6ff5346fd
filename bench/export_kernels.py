#!/usr/bin/python3
"""Export single-op models for the kernel microbenchmarks (GEMM and the convolution shapes
that dominate ResNet-50), with Debian's PyTorch.

Usage: /usr/bin/python3 export_kernels.py OUTDIR
"""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "models"))
from export_models import OPSET  # noqa: E402


class MatMul(torch.nn.Module):
    def __init__(self, k, n):
        super().__init__()
        self.w = torch.nn.Parameter(torch.randn(k, n) / k ** 0.5)

    def forward(self, x):
        return x @ self.w


def kernels():
    yield "gemm_256x1024x1024", MatMul(1024, 1024), (256, 1024)
    yield "conv3x3_c64_56", torch.nn.Conv2d(64, 64, 3, padding=1), (1, 64, 56, 56)
    yield "conv3x3_c128_28", torch.nn.Conv2d(128, 128, 3, padding=1), (1, 128, 28, 28)
    yield "conv3x3_c256_14", torch.nn.Conv2d(256, 256, 3, padding=1), (1, 256, 14, 14)
    yield "conv3x3_c512_7", torch.nn.Conv2d(512, 512, 3, padding=1), (1, 512, 7, 7)
    yield "conv1x1_c64to256_56", torch.nn.Conv2d(64, 256, 1), (1, 64, 56, 56)
    yield "conv1x1_c1024to256_14", torch.nn.Conv2d(1024, 256, 1), (1, 1024, 14, 14)
    yield "depthwise3x3_c144_56", torch.nn.Conv2d(144, 144, 3, padding=1, groups=144), (1, 144, 56, 56)


def main():
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    torch.manual_seed(0)
    for name, model, shape in kernels():
        path = os.path.join(outdir, name + ".onnx")
        if not os.path.exists(path):
            torch.onnx.export(model.eval(), (torch.randn(*shape),), path, opset_version=OPSET,
                              input_names=["input"], output_names=["output"])


if __name__ == "__main__":
    main()
