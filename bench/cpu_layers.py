"""Why a `cpu` training step reaches the share of the matmul roof it does: each layer's own speed, in one run.

    python bench/cpu_layers.py --out results/bench-cpu-layers.json

A training step is mostly convolutions and dense layers (every FLOP the step counts is theirs but the loss's
cross-correlation product, about a tenth of the `cpu` step's) plus work that counts no FLOPs: batch
normalisation, ReLU, the residual adds, the rest of the loss, the optimizer. This script times each
distinct convolution and dense layer of the recipe's network *alone*, at its own shape and the recipe's
batch, forward and backward (gradients of the input and the kernel, as training takes them; the stem takes
none of its input), both views side by side as the training step runs them, with the library's thread
settings. Summed over the network, those times give the **layers-alone bound**: the GFLOP/s the step would
reach if everything that counts no FLOPs were free. Beside it, in the same process, the training path
(whole epochs through ``train.train_epoch``, what `barlow-twins train` runs) and two 2048^3 float32 products
side by side, the large-product speed of the library's threads; and, in a process at TensorFlow's default
threads, the float32 matmul roof the records and the CPU target use. Shares are given of both.

If the bound itself falls short of a target share of the roof, no scheduling of the step reaches it with
these kernels: the narrow layers' own speed is the limit. The gap between the bound and the training path is
what the FLOP-free work and the step's own overhead cost.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import Counter

import _common  # noqa: F401  (quiet TensorFlow)


def layer_shapes(model) -> list[tuple]:
    """(kind, input shape without the batch, layer settings) of every convolution and dense layer, nested
    models included, in order."""
    from keras import layers

    import keras

    out = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            out += layer_shapes(layer)
        elif isinstance(layer, layers.Conv2D):
            out.append(("conv", tuple(layer.input.shape[1:]), (*layer.kernel_size, layer.filters, layer.strides[0],
                                                               layer.padding)))
        elif isinstance(layer, layers.Dense):
            out.append(("dense", tuple(layer.input.shape[1:]), (layer.units,)))
    return out


def describe(kind: str, shape: tuple, settings: tuple) -> str:
    if kind == "dense":
        return f"dense {shape[-1]} -> {settings[0]}"
    kh, kw, filters, stride, _ = settings
    h, w, c = shape
    return f"conv {kh}x{kw}/{stride} on {h}x{w}x{c} -> {filters}"


def flops(kind: str, shape: tuple, settings: tuple, batch: int) -> float:
    """Forward FLOPs of one layer on one view's batch (multiply-adds x 2), as ``models.forward_flops`` counts."""
    if kind == "dense":
        return 2.0 * shape[-1] * settings[0] * batch
    kh, kw, filters, stride, padding = settings
    h, w, c = shape
    ho, wo = (-(-h // stride), -(-w // stride)) if padding == "same" else ((h - kh) // stride + 1,
                                                                           (w - kw) // stride + 1)
    return 2.0 * ho * wo * kh * kw * c * filters * batch


def layer_pass(kind, shape, settings, batch, first: bool):
    """The layer's forward and backward pass on both views side by side, compiled, its inputs and its weight:
    each view gives the forward's value (so that the forward is computed, not pruned) and the gradients training
    takes."""
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(0)
    xs = [tf.constant(rng.standard_normal((batch, *shape)), tf.float32) for _ in range(2)]
    if kind == "dense":
        w = tf.Variable(rng.standard_normal((shape[-1], settings[0])) * 0.01, dtype=tf.float32)

        def apply(x):
            return tf.matmul(x, w)
    else:
        kh, kw, filters, stride, padding = settings
        w = tf.Variable(rng.standard_normal((kh, kw, shape[-1], filters)) * 0.01, dtype=tf.float32)

        def apply(x):
            return tf.nn.conv2d(x, w, stride, padding.upper())

    ys = [tf.constant(rng.standard_normal(apply(x).shape), tf.float32) for x in xs]  # upstream gradients

    @tf.function
    def both_views(a, b, ga, gb):
        out = []
        for x, g in ((a, ga), (b, gb)):  # independent: the inter-op pool runs them side by side, as in the step
            with tf.GradientTape() as tape:
                tape.watch(x)
                value = tf.reduce_sum(apply(x) * g)  # the forward's output is used: it cannot be pruned
            wrt = [w] if first else [w, x]  # the stem takes no gradient of its input (the images)
            out.append((value, tape.gradient(value, wrt)))
        return out

    return both_views, (*xs, *ys), w


def time_layer(kind, shape, settings, batch, first: bool, steps: int) -> float:
    """Median seconds of :func:`layer_pass` after a compiling call."""
    import numpy as np
    import tensorflow as tf

    fn, args, _ = layer_pass(kind, shape, settings, batch, first)
    fn(*args)  # compiles
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        tf.nest.map_structure(lambda v: v.numpy(), fn(*args))
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def measure(recipe_name: str, steps: int) -> dict:
    """Each distinct layer's time (seconds per step, all its copies) and the training path, in this process."""
    import numpy as np
    import tensorflow as tf

    from barlow_lib import augment, hardware, models, recipes
    from train_step import epoch_path, step_gflop

    recipe = recipes.get(recipe_name)
    b = recipe.batch_size
    twin = models.build_twin(recipe)
    shapes = layer_shapes(twin.backbone) + layer_shapes(twin.projector)
    counts = Counter(shapes)
    layers = []
    for i, (key, n) in enumerate(counts.items()):
        seconds = time_layer(*key, b, first=key == shapes[0], steps=steps)
        layers.append({"layer": describe(*key), "copies": n, "gflop": 3 * 2 * n * flops(*key, b) / 1e9,
                       "seconds": n * seconds, "first": key == shapes[0]})
        # 3x: forward, and a backward of twice its cost (the stem's: once, no input gradient); 2 views
        if key == shapes[0]:
            layers[-1]["gflop"] *= 2 / 3
    rng = np.random.default_rng(0)
    pair = [tf.constant(rng.standard_normal((2048, 2048)), tf.float32) for _ in range(2)]

    @tf.function
    def two_products(a, b):  # independent, as the two views are
        return tf.matmul(a, a), tf.matmul(b, b)

    pair_roof = 2 * 2 * 2048 ** 3 / 1e9 / _common.best_time(lambda: [x.numpy() for x in two_products(*pair)], 3)
    images = rng.integers(0, 255, (16 * b, 32, 32, 3), dtype=np.uint8)
    path = epoch_path(recipe, recipe.model.precision, images, augment.draw_noise(rng, len(images)), None,
                      use_fit=False)
    return {"layers": layers, "path_seconds": path, "pair_roof": pair_roof, "step_gflop": step_gflop(recipe, b),
            "batch": b, "threads": hardware.threads_in_use(tf)}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--recipe", default="cpu")
    p.add_argument("--steps", type=int, default=20, help="timed calls per layer (one more compiles)")
    p.add_argument("--measure", choices=("layers", "roof"), help=argparse.SUPPRESS)  # the child processes
    p.add_argument("--out")
    args = p.parse_args()
    if args.measure == "roof":
        import tensorflow as tf
        from train_step import matmul_roof

        print(json.dumps({"roof": matmul_roof(tf.float32)}))
        return
    if args.measure == "layers":
        print(json.dumps(measure(args.recipe, args.steps)))
        return
    started = time.perf_counter()

    def child(what, env):
        done = subprocess.run([sys.executable, __file__, "--measure", what, "--recipe", args.recipe, "--steps",
                               str(args.steps)], env=os.environ | env, capture_output=True, text=True, check=True)
        return json.loads(done.stdout.strip().splitlines()[-1])

    roof = child("roof", {"BARLOW_THREADS": "tensorflow"})["roof"]  # a one-thread process measures one core
    m = child("layers", {})
    rows = [{"layer": r["layer"], "copies": r["copies"], "GFLOP per step": round(r["gflop"], 3),
             "ms per step": round(1000 * r["seconds"], 1), "GFLOP/s": round(r["gflop"] / r["seconds"], 1),
             "% of fp32 roof": round(100 * r["gflop"] / r["seconds"] / roof, 1)} for r in m["layers"]]
    gflop, seconds = sum(r["gflop"] for r in m["layers"]), sum(r["seconds"] for r in m["layers"])
    below = sum(r["gflop"] for r in m["layers"] if r["gflop"] / r["seconds"] < 0.5 * roof)
    path_gflops = m["step_gflop"] / m["path_seconds"]
    summary = {
        "float32 matmul roof (GFLOP/s, 2048^3, TensorFlow's default threads)": round(roof, 1),
        "threads of the layer and training-path process": m["threads"],
        "GFLOP per step (the training path's count)": round(m["step_gflop"], 2),
        "GFLOP per step (the layers above)": round(gflop, 2),
        "two 2048^3 products side by side at the layer process's threads (GFLOP/s)": round(m["pair_roof"], 1),
        "layers alone: ms per step": round(1000 * seconds, 1),
        "layers alone: % of fp32 roof (the bound)": round(100 * gflop / seconds / roof, 1),
        "training path: ms per step": round(1000 * m["path_seconds"], 1),
        "training path: % of fp32 roof": round(100 * path_gflops / roof, 1),
        "layers alone: % of the side-by-side products": round(100 * gflop / seconds / m["pair_roof"], 1),
        "training path: % of the side-by-side products": round(100 * path_gflops / m["pair_roof"], 1),
        "share of the step's FLOPs in layers under half the roof": round(below / gflop, 3),
        "share of the training path's time outside the layers": round(1 - seconds / m["path_seconds"], 3),
    }
    _common.write_result(args.out, f"The {args.recipe} network's layers alone, forward and backward, beside its "
                         "training path and the float32 matmul roof", rows, summary, started,
                         data=f"random float32 inputs at each layer's shape, batch {m['batch']} per view, two "
                              "views side by side; medians of --steps calls after a compiling one; the training "
                              "path: whole epochs of 16 steps of random 32x32 images through train.train_epoch "
                              "after one compiling epoch")


if __name__ == "__main__":
    main()
