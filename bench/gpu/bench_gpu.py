"""GPU benchmark and short real-data runs, for a lent machine with JAX and no TensorFlow.

Prints and writes ``--out``/gpu_results.json (everything) and ``--out``/gpu.json (the book's result format;
copy it to results/gpu.json):
  1. pairs/s, seconds per 50k-image epoch and model FLOPs utilisation of the `seed` and `cifar` recipes;
  2. kNN accuracy on a validation split of CIFAR-10 train after a few epochs of `cifar`, vs random init;
  3. optional variants (``--variants FILE``): short runs of other recipes, kNN each, for tuning.
Everything stops starting new work once ``--budget`` seconds have passed.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from barlow_lib import augment, data, evaluate, hardware, models, provenance, recipes, train  # noqa: E402

PEAK_BF16_DENSE = {"H100": 989e12, "H200": 989e12, "A100": 312e12}  # vendor dense bf16 tensor-core peaks
T0 = time.perf_counter()


def elapsed():
    return time.perf_counter() - T0


def peak_flops():
    kind = " ".join(provenance.accelerators())
    return next((v for k, v in PEAK_BF16_DENSE.items() if k in kind), None)


def throughput(recipe, steps=20, warmup=3):
    """Median-free simple timing: run ``warmup`` steps (compile), then time ``steps`` steps."""
    twin = models.build_twin(recipe.model, recipe.augment, recipe.lambd)
    twin.compile(optimizer=train.make_optimizer(recipe, 100), jit_compile=True)
    b = recipe.batch_size
    rng = np.random.default_rng(0)
    x = {"images": rng.integers(0, 255, (b * (steps + warmup), 32, 32, 3), dtype=np.uint8),
         "noise": augment.draw_noise(rng, b * (steps + warmup))}
    warm = {k: v[: b * warmup] for k, v in x.items()}
    timed = {k: v[b * warmup:] for k, v in x.items()}
    t = time.perf_counter()
    twin.fit(warm, batch_size=b, verbose=0)
    compile_s = time.perf_counter() - t
    t = time.perf_counter()
    twin.fit(timed, batch_size=b, verbose=0)
    step_s = (time.perf_counter() - t) / steps
    flops_pair = 3 * 2 * (models.forward_flops(twin.backbone) + models.forward_flops(twin.projector))
    pairs = b / step_s
    peak = peak_flops()
    return {"recipe": recipe.name, "precision": hardware.resolve_precision(recipe.model.precision), "batch": b, "step_ms": round(step_s * 1e3, 2),
            "pairs_per_s": round(pairs), "s_per_epoch_50k": round(50000 // b * b / pairs, 2),
            "tflops": round(flops_pair * pairs / 1e12, 1),
            "mfu_vs_bf16_peak": round(flops_pair * pairs / peak, 4) if peak else None,
            "compile_s": round(compile_s, 1)}


def short_run(recipe, ds, out, epochs):
    recipe = recipe.replace(epochs=epochs)
    t = time.perf_counter()
    run = train.train(recipe, ds, out, progress=False)
    wall = time.perf_counter() - t
    accs = {}
    for random_init in (False, True):
        bb = run.load_backbone(random_init=random_init)
        accs["random_init" if random_init else "trained"] = round(
            evaluate.backbone_knn(bb, ds.x_train, ds.y_train, ds.x_eval, ds.y_eval), 4)
    h = run.history()
    return {"recipe": recipe.name, "epochs": epochs, "knn": accs["trained"], "knn_random_init": accs["random_init"],
            "knn_curve": h["knn_accuracy"], "loss": [round(v, 1) for v in h["loss"]],
            "train_s": round(wall, 1), "epoch_s": h["seconds"]}


def to_report(raw: dict, command: str) -> dict:
    """The raw results as a result file for the book: throughput rows, then short runs in the summary."""
    rows = [{"recipe": t["recipe"], "precision": t["precision"], "batch": t["batch"], "step ms": t["step_ms"],
             "pairs/s": t["pairs_per_s"], "s per 50k epoch": t["s_per_epoch_50k"], "TFLOP/s": t["tflops"],
             "MFU (bf16 dense peak)": t["mfu_vs_bf16_peak"], "compile s": t["compile_s"]} for t in raw["throughput"]]
    summary = {f"{r['name']}: kNN after {r['epochs']} epochs": f"{r['knn']:.4f} (random init {r['knn_random_init']:.4f})"
               for r in raw["runs"]}
    summary["timing"] = "20 timed steps after 3 warm-up steps, one process on the GPU, JAX with XLA"
    return {"title": "GPU throughput of the seed and cifar recipes", "rows": rows, "summary": summary,
            "command": command, "provenance": raw["provenance"]}


def variant(spec: dict):
    spec = dict(spec)
    return recipes.get(spec.pop("recipe")).replace(**spec)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True, help="CIFAR-10 image folder (DIR/train/<class>/*.jpg)")
    p.add_argument("--out", default="gpu_out")
    p.add_argument("--budget", type=float, default=480)
    p.add_argument("--cifar-epochs", type=int, default=3)
    p.add_argument("--variants", help="JSON file: list of {name, recipe, epochs, data, ...overrides}")
    p.add_argument("--dry-run", action="store_true", help="tiny sizes, to check the script on a CPU first")
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    results = {"provenance": provenance.collect(), "throughput": [], "runs": []}

    def save():
        with open(os.path.join(args.out, "gpu_results.json"), "w") as f:
            json.dump(results, f, indent=1)
        with open(os.path.join(args.out, "gpu.json"), "w") as f:
            json.dump(to_report(results, "python bench/gpu/bench_gpu.py " + " ".join(sys.argv[1:])), f, indent=1)

    print("device:", provenance.describe(results["provenance"]), flush=True)
    seed = recipes.get("seed")
    todo = [seed, seed.replace(name="seed-bf16", model={"precision": "mixed_bfloat16"}), recipes.get("cifar"),
            recipes.get("cifar").replace(batch_size=512)]
    if args.dry_run:
        todo = [recipes.get("smoke")]
    for r in todo:
        results["throughput"].append(throughput(r, steps=2 if args.dry_run else 20))
        print(json.dumps(results["throughput"][-1]), flush=True)
        save()
    t = time.perf_counter()
    cifar = data.load(args.data, limit=2000 if args.dry_run else None)
    print(f"data: {len(cifar.x_train)} train / {len(cifar.x_eval)} {cifar.eval_split} in {time.perf_counter() - t:.1f}s")
    jobs = [{"name": "cifar", "recipe": "smoke" if args.dry_run else "cifar", "epochs": args.cifar_epochs,
             "knn_every": 1}]
    if args.variants:
        jobs += json.load(open(args.variants))
    synthetic = None
    for job in jobs:
        if elapsed() > args.budget:
            print("budget spent; skipping", job["name"], flush=True)
            continue
        job = dict(job)
        name, epochs, source = job.pop("name"), job.pop("epochs"), job.pop("data", "cifar")
        if source == "synthetic":
            synthetic = synthetic or data.load("synthetic")
        ds = synthetic if source == "synthetic" else cifar
        res = short_run(variant(job), ds, os.path.join("/tmp/gpu_runs", name), epochs)
        res.update(name=name, data=source, overrides=job)
        results["runs"].append(res)
        print(json.dumps(res), flush=True)
        save()
    print(f"total {elapsed():.0f}s", flush=True)


if __name__ == "__main__":
    keras.utils.set_random_seed(0)
    main()
