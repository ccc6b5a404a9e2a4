#!/usr/bin/env bash
# One command for a lent GPU machine (JAX, no TensorFlow, no internet). From the repository root:
#   bash bench/gpu/run.sh [OUT_DIR]
# It needs, carried next to the working tree (see bench/README.md):
#   .whl/   keras, namex and optree wheels for Python 3.12 (keras' dependencies missing there)
#   .data/  train.tar.gz, the CIFAR-10 JPEG archive
# and finishes within 10 minutes: throughput of `seed` and `cifar`, then short kNN runs.
set -euo pipefail
out=${1:-${OUT:-gpu_out}}
mkdir -p "$out"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site:$PWD KERAS_BACKEND=jax PYTHONUNBUFFERED=1
mkdir -p /tmp/cifar10 && tar xzf .data/train.tar.gz -C /tmp/cifar10
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
timeout 560 python3 bench/gpu/bench_gpu.py --data /tmp/cifar10 --out "$out" --budget 400 \
  --variants bench/gpu/variants.json 2>&1 | grep -v '^I0000\|^W0000' | tee "$out/log.txt"
