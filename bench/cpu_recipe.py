"""The `cpu` recipe end to end, exactly as a user runs it, timed from a cold image cache.

    python bench/cpu_recipe.py --data /tmp/cifar10-jpeg --out results/cpu-recipe.json

Runs `barlow-twins train --recipe cpu`, then `evaluate --protocol knn` with and without `--random-init`
(and the linear probe), and records accuracies, wall times and provenance.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import _common


def cli(*args, env):
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "barlow_lib", *args], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        sys.exit(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1]), round(time.perf_counter() - t, 1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True, help="CIFAR-10 image folder, an .npz, or cifar10")
    p.add_argument("--run", default=None, help="run folder (default: a fresh temporary one)")
    p.add_argument("--linear", action="store_true", help="also run the linear probe")
    p.add_argument("--out")
    args = p.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "BARLOW_CACHE": os.path.join(tmp, "cache"), "TF_CPP_MIN_LOG_LEVEL": "3"}
        run = args.run or os.path.join(tmp, "run")
        trained, train_wall = cli("train", "--recipe", "cpu", "--data", args.data, "--out", run, "--quiet", env=env)
        rows = []
        protocols = [("knn", False), ("knn", True)] + ([("linear", False), ("linear", True)] if args.linear else [])
        for protocol, random_init in protocols:
            res, wall = cli("evaluate", "--run", run, "--protocol", protocol, "--quiet",
                            *(["--random-init"] if random_init else []), env=env)
            rows.append({"encoder": "random init" if random_init else "cpu recipe, trained", "protocol": protocol,
                         "accuracy": res["accuracy"], "split": res["split"], "n_train": res["n_train"],
                         "n_eval": res["n_eval"]})
        history = json.load(open(os.path.join(run, "history.json")))
    knn = {r["encoder"]: r["accuracy"] for r in rows if r["protocol"] == "knn"}
    _common.write_result(
        args.out, "The cpu recipe on CIFAR-10, 2 CPU cores", rows,
        {"train command wall time, data loading included (s)": train_wall,
         "kNN gain over random init (points)": round(100 * (knn["cpu recipe, trained"] - knn["random init"]), 1),
         "epochs": trained["epochs"], "final loss": round(trained["final_loss"], 1)},
        started, data=f"{args.data} (CIFAR-10 training images; evaluation on the split named in the table)",
        history=history)


if __name__ == "__main__":
    main()
