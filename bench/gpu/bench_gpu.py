"""GPU throughput of the path `barlow-twins train` runs, for a GPU machine with JAX and no TensorFlow.

Prints and writes ``--out``/gpu_results.json (everything) and ``--out``/gpu.json (the book's result format;
copy it to results/gpu.json): pairs/s, seconds per 50k-image epoch and model FLOPs utilisation (MFU: model
FLOPs per second over the GPU's dense bfloat16 peak) of the `keras-io` and `cifar` recipes, each timed
through ``train.train_epoch`` as training runs it. ``--profile DIR`` writes a JAX profiler trace of the
timed steps, for finding where a step's time goes.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

from barlow_lib import augment, hardware, models, provenance, recipes, train  # noqa: E402

PEAK_BF16_DENSE = {"H100": 989e12, "H200": 989e12, "A100": 312e12}  # vendor dense bf16 tensor-core peaks
T0 = time.perf_counter()


def elapsed():
    return time.perf_counter() - T0


def peak_flops():
    kind = " ".join(provenance.accelerators())
    return next((v for k, v in PEAK_BF16_DENSE.items() if k in kind), None)


def throughput(recipe, steps=20, warmup=3, profile=None):
    """Run ``warmup`` steps (they compile), then time ``steps`` steps of the training loop users run."""
    twin = models.build_twin(recipe, steps_per_epoch=100)
    b = recipe.batch_size
    rng = np.random.default_rng(0)
    x = {"images": rng.integers(0, 255, (b * (steps + warmup), 32, 32, 3), dtype=np.uint8),
         "noise": augment.draw_noise(rng, b * (steps + warmup))}
    warm = {k: v[: b * warmup] for k, v in x.items()}
    timed = {k: v[b * warmup:] for k, v in x.items()}
    t = time.perf_counter()
    train.train_epoch(twin, warm, b, 0, 1, progress=False)
    compile_s = time.perf_counter() - t
    context = jax.profiler.trace(os.path.join(profile, recipe.name)) if profile else contextlib.nullcontext()
    with context:
        t = time.perf_counter()
        train.train_epoch(twin, timed, b, 1, 1, progress=False)
        step_s = (time.perf_counter() - t) / steps
    flops_pair = models.pair_flops(twin.backbone, twin.projector)
    pairs = b / step_s
    peak = peak_flops()
    return {"recipe": recipe.name, "precision": hardware.resolve_precision(recipe.model.precision), "batch": b,
            "step_ms": round(step_s * 1e3, 2),
            "pairs_per_s": round(pairs), "s_per_epoch_50k": round(50000 // b * b / pairs, 2),
            "tflops": round(flops_pair * pairs / 1e12, 1),
            "mfu_vs_bf16_peak": round(flops_pair * pairs / peak, 4) if peak else None,
            "compile_s": round(compile_s, 1)}


def to_report(raw: dict, command: str) -> dict:
    """The raw results as a result file for the book: throughput rows, then short runs in the summary."""
    rows = [{"recipe": t["recipe"], "precision": t["precision"], "batch": t["batch"], "step ms": t["step_ms"],
             "pairs/s": t["pairs_per_s"], "s per 50k epoch": t["s_per_epoch_50k"], "TFLOP/s": t["tflops"],
             "MFU (bf16 dense peak)": t["mfu_vs_bf16_peak"], "compile s": t["compile_s"]} for t in raw["throughput"]]
    summary = {"timing": "20 timed steps after 3 warm-up steps, one process on the GPU, JAX with XLA"}
    return {"title": "GPU throughput of the keras-io and cifar recipes", "rows": rows, "summary": summary,
            "command": command, "provenance": raw["provenance"]}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", default="gpu_out")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--profile", help="write a JAX profiler trace of the timed steps of each recipe here")
    p.add_argument("--dry-run", action="store_true", help="tiny sizes, to check the script on a CPU first")
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    results = {"provenance": provenance.collect(), "throughput": []}
    print("device:", provenance.describe(results["provenance"]), flush=True)
    keras_io = recipes.get("keras-io")
    todo = [keras_io, recipes.get("cifar"), recipes.get("cifar").replace(batch_size=512)]
    for r in [recipes.get("smoke")] if args.dry_run else todo:
        results["throughput"].append(throughput(r, steps=2 if args.dry_run else args.steps, profile=args.profile))
        print(json.dumps(results["throughput"][-1]), flush=True)
        with open(os.path.join(args.out, "gpu_results.json"), "w") as f:
            json.dump(results, f, indent=1)
        with open(os.path.join(args.out, "gpu.json"), "w") as f:
            json.dump(to_report(results, "python bench/gpu/bench_gpu.py " + " ".join(sys.argv[1:])), f, indent=1)
    print(f"total {elapsed():.0f}s", flush=True)


if __name__ == "__main__":
    keras.utils.set_random_seed(0)
    main()
