"""Cost of the loss alone (forward + backward) at D = 5000 and 8192: time and peak memory, on this CPU.

    python bench/loss_cost.py --out results/bench-loss.json

Each size runs in its own process so that its peak resident memory can be read; a process that only
imports the library (D = 0) gives the floor the peaks are measured above (in the summary, not a row).
"""
import argparse
import json
import subprocess
import sys
import time

import _common

CHILD = r"""
import json, os, resource, sys, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np, tensorflow as tf
from barlow_lib.loss import barlow_twins_loss
n, d = int(sys.argv[1]), int(sys.argv[2])
out = {}
if d:
    rng = np.random.default_rng(0)
    za, zb = (tf.Variable(rng.normal(size=(n, d)).astype("float32")) for _ in range(2))
    @tf.function(jit_compile=sys.argv[3] == "1")
    def step():
        with tf.GradientTape() as tape:
            loss = barlow_twins_loss(za, zb, 0.005)
        return loss, tape.gradient(loss, [za, zb])
    step()
    times = []
    for _ in range(5):
        t = time.perf_counter(); step()[0].numpy(); times.append(time.perf_counter() - t)
    out["ms"] = 1000 * min(times)
out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def measure(n, d, jit):
    proc = subprocess.run([sys.executable, "-c", CHILD, str(n), str(d), "1" if jit else "0"], capture_output=True,
                          text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batch", type=int, default=512)
    p.add_argument("--out")
    args = p.parse_args()
    started = time.perf_counter()
    floor = measure(args.batch, 0, False)["peak_mb"]
    rows = []  # the D = 0 process is the baseline the peaks are measured above, not a row of its own
    for d in (5000, 8192):
        for jit in (False, True):
            m = measure(args.batch, d, jit)
            rows.append({"D": d, "XLA": "on" if jit else "off", "ms (fwd+bwd)": round(m["ms"], 1),
                         "peak MB above import": round(m["peak_mb"] - floor, 1),
                         "c matrix MB": round(d * d * 4 / 2**20, 1),
                         "GFLOP": round(6 * args.batch * d * d / 1e9, 1)})
    _common.write_result(args.out, f"Cost of the loss, batch {args.batch}, CPU", rows,
                         {"import-only peak RSS (MB)": round(floor, 1)}, started,
                         data=f"random float32 embeddings, batch {args.batch}; best of 5 after one compiling call; "
                              f"GFLOP counts the three batch x D x D matrix products of forward and backward")


if __name__ == "__main__":
    main()
