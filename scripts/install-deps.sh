#!/usr/bin/env bash
# Installs the Debian packages nnc needs (build, tests, example). Safe to re-run: when
# every package is present it does nothing. Needs root (or sudo) on Debian 12.
set -euo pipefail

packages=(
  cmake g++ make pkg-config
  libonnx-dev libprotobuf-dev protobuf-compiler          # ONNX 1.12 (checker, shape inference, converter)
  libhalide14-0-dev llvm-14-dev                          # CPU code generation (Halide 14 on LLVM 14)
  libpng-dev libjpeg-dev zlib1g-dev                      # HalideConfig.cmake requires PNG, JPEG and ZLIB
  libvulkan-dev glslc libshaderc-dev mesa-vulkan-drivers # Vulkan backend (lavapipe runs it on the CPU)
  catch2 libcli11-dev
  libonnx-testdata                                       # the official ONNX backend tests
  python3-onnx python3-numpy                             # test-data inspection
)
if [[ "${NNC_WITH_MODELS:-0}" == 1 ]]; then
  # Exporting real models with PyTorch and comparing against ONNX Runtime (from npm).
  packages+=(python3-torch python3-torchvision libopenblas0-pthread)
  # A machine may already have Node.js and npm from elsewhere (NodeSource's nodejs ships
  # npm and conflicts with Debian's npm package): only install Debian's when npm is absent.
  command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO=sudo
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
