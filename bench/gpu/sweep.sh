#!/usr/bin/env bash
# Recipe sweep on a GPU machine (JAX, no TensorFlow): WORKERS processes share the GPU and work
# through VARIANTS (see sweep.py); results in $OUT/sweep.jsonl. Carry .whl and .data (bench/README.md).
#   bash bench/gpu/sweep.sh [VARIANTS] [WORKERS] [DEADLINE_S] [COMBINE_WAIT_S] [HARD_STOP_S]
set -uo pipefail
variants=${1:-bench/gpu/sweep.json}; workers=${2:-8}; deadline=${3:-300}; wait_s=${4:-330}; stop=${5:-480}
out=${OUT:-sweep_out}
mkdir -p "$out"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site:$PWD KERAS_BACKEND=jax PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false \
  TF_CPP_MIN_LOG_LEVEL=3 BARLOW_CACHE=/tmp/barlow_cache
mkdir -p /tmp/cifar10 && tar xzf .data/train.tar.gz -C /tmp/cifar10
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
python3 -c "import jax, keras; print('jax', jax.__version__, jax.devices(), 'keras', keras.__version__)"
python3 -c "from barlow_lib import data; d = data.load('/tmp/cifar10'); print('data', d.x_train.shape, d.eval_split)"
python3 -c "import json; from barlow_lib import provenance; json.dump(provenance.collect(), open('$out/provenance.json', 'w'))"
for i in $(seq "$workers"); do
  timeout "$stop" python3 bench/gpu/sweep.py --data /tmp/cifar10 --variants "$variants" --out "$out/sweep.jsonl" \
    --deadline "$deadline" --combine-wait "$wait_s" > "$out/worker$i.log" 2>&1 &
  sleep 2
done
wait
grep -h "Traceback\|Error" "$out"/worker*.log | sort | uniq -c | head -20
python3 -c "
import json
rows = [json.loads(l) for l in open('$out/sweep.jsonl')]
for r in sorted(rows, key=lambda r: -r.get('knn', 0)):
    print(f\"{r['name']:28s} knn {r.get('knn', 'ERR')}  rand {r.get('knn_random_init')}  ep {r.get('epochs')}  train_s {r.get('train_s')}  {r.get('combined', '')} {r.get('error', '')[:200]}\")
"
