"""Full-length runs on one GPU, side by side, each ending in a record for the book.

    python bench/gpu/full_runs.py --data DIR --job keras-io=keras-io --job cifar=cifar:EPOCHS --budget 520

Each ``--job NAME=RECIPE[:EPOCHS]`` is `barlow-twins train` then `barlow-twins record`, in a process of its
own; the jobs share the GPU (JAX does not preallocate its memory here). A record is written to
``--out``/NAME with this command in it; evaluation uses the data's test split when the folder has ``test/``
and a validation split carved from train otherwise, and the record says which. Jobs still running at
``--budget`` seconds are stopped (their run folders resume with the same command). ``--limit`` and small
recipes make a dry run on a CPU (tests/test_gpu_script.py).
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path


def job_commands(name: str, spec: str, args) -> list[list[str]]:
    recipe, _, epochs = spec.partition(":")
    python = [sys.executable, "-m", "barlow_lib"]
    train = [*python, "train", "--recipe", recipe, "--data", args.data, "--out", str(Path(args.runs) / name),
             "--quiet", *(["--epochs", epochs] if epochs else []),
             *(["--limit", str(args.limit)] if args.limit else [])]
    record = [*python, "record", "--run", str(Path(args.runs) / name), "--out", str(Path(args.out) / name),
              "--quiet", "--command-line", "python bench/gpu/full_runs.py " + shlex.join(sys.argv[1:]),
              *(["--no-supervised"] if args.no_supervised else [])]
    return [train, record]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="an image folder (DIR/train/<class>/*, optionally DIR/test/...)")
    p.add_argument("--job", action="append", required=True, help="NAME=RECIPE[:EPOCHS]")
    p.add_argument("--out", default="results/runs", help="where the records go")
    p.add_argument("--runs", default="runs", help="where the run folders go")
    p.add_argument("--budget", type=float, default=520, help="seconds before unfinished jobs are stopped")
    p.add_argument("--limit", type=int, help="training images (dry runs)")
    p.add_argument("--no-supervised", action="store_true", help="records without the supervised baseline")
    args = p.parse_args()
    env = {**os.environ, "XLA_PYTHON_CLIENT_PREALLOCATE": "false", "PYTHONUNBUFFERED": "1"}
    t0 = time.perf_counter()
    jobs = {}
    Path(args.runs).mkdir(parents=True, exist_ok=True)
    for item in args.job:
        name, _, spec = item.partition("=")
        log = open(Path(args.runs) / f"{name}.log", "w")
        script = " && ".join(shlex.join(c) for c in job_commands(name, spec, args))
        jobs[name] = (subprocess.Popen(["bash", "-c", script], stdout=log, stderr=subprocess.STDOUT, env=env), log)
        print(f"started {name}: {script}", flush=True)
    status = {}
    for name, (proc, log) in jobs.items():
        try:
            proc.wait(timeout=max(1.0, args.budget - (time.perf_counter() - t0)))
            status[name] = "recorded" if proc.returncode == 0 else f"failed (exit {proc.returncode})"
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            status[name] = "stopped at the budget (resumable)"
        log.close()
        print(f"{name}: {status[name]} after {time.perf_counter() - t0:.0f} s; log {log.name}", flush=True)
        if proc.returncode != 0:
            print(Path(log.name).read_text()[-3000:], flush=True)
    print(json.dumps({"seconds": round(time.perf_counter() - t0, 1), "jobs": status}))
    return 0 if all(s == "recorded" for s in status.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
