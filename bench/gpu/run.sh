#!/usr/bin/env bash
# The full-length runs on one GPU machine (JAX, no TensorFlow, no internet), from the repository root:
#   bash bench/gpu/run.sh [CIFAR_EPOCHS]
# It needs, carried next to the working tree (see bench/README.md):
#   .whl/   keras, namex and optree wheels for Python 3.12 (keras' dependencies missing there)
#   .data/  train.tar.gz, the CIFAR-10 JPEG archive (train/ only: the records use a validation split)
# In one command of at most 9 minutes: the keras-io recipe's 160 epochs and the cifar recipe side by side,
# each recorded (results/runs/keras-io, results/runs/cifar, copied back through $OUT).
set -euo pipefail
epochs=${1:-60}
out=${OUT:-gpu_out}
mkdir -p "$out"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site:$PWD KERAS_BACKEND=jax PYTHONUNBUFFERED=1 BARLOW_CACHE=/tmp/barlow_cache
export BARLOW_COMMIT=${BARLOW_COMMIT:-unknown}
mkdir -p /tmp/cifar10 && tar xzf .data/train.tar.gz -C /tmp/cifar10
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
timeout 530 python3 bench/gpu/full_runs.py --data /tmp/cifar10 --out "$out/runs" --runs /tmp/gpu_runs \
  --budget 500 --job keras-io=keras-io --job "cifar=cifar:$epochs" --no-supervised 2>&1 | tee "$out/log.txt"
