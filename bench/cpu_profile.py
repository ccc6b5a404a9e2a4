"""Where a `cpu` training step's time goes on this CPU, and which thread settings suit it, in one run.

    python bench/cpu_profile.py --out results/bench-cpu-profile.json

The step is split into what it runs: making the two views (chapter 2's pipeline), the forward pass of both
views, the backward pass (forward and gradients, less the forward), the optimizer's update (LAMB with its
trust ratios), and what is left: Keras' and Python's work between them. Each piece is timed alone in steady
state (the median of ``--steps`` calls after a compiling one) on the recipe's own batch, beside the whole
``train_on_batch`` step and the float32 matmul roof measured in the same process. Thread settings and oneDNN
are process-wide, so each setting is a fresh process running the same measurements; every row's GFLOP/s is set
beside the roof its own process measured.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import _common  # noqa: F401  (quiet TensorFlow)

DEFAULT = "the library's default threads"
TF_DEFAULT = "TensorFlow's default threads"
SETTINGS = {  # name: environment of the measuring process (hardware.cpu_threads reads BARLOW_THREADS)
    TF_DEFAULT: {"BARLOW_THREADS": "tensorflow"},
    DEFAULT: {},
    "intra-op 2, inter-op 1": {"BARLOW_THREADS": "2,1"},
    "intra-op 1, inter-op 1": {"BARLOW_THREADS": "1,1"},
    "oneDNN off": {"TF_ENABLE_ONEDNN_OPTS": "0"},
    "Keras' own batch normalisation (not the fused kernel)": {"BARLOW_KERAS_BN": "1"},
    "TensorFlow's default threads, Keras' own batch normalisation": {"BARLOW_THREADS": "tensorflow",
                                                                     "BARLOW_KERAS_BN": "1"},
}


def measure(recipe_name: str, steps: int, batch: int | None) -> dict:
    """The pieces of one step, in seconds (medians), with the roof, in this process."""
    import tensorflow as tf

    import numpy as np

    import keras

    from barlow_lib import augment, hardware, loss, models, recipes
    from train_step import epoch_path, matmul_roof, step_gflop

    if os.environ.get("BARLOW_KERAS_BN"):  # what the library ran before batchnorm.py
        models.BatchNormalization = keras.layers.BatchNormalization

    recipe = recipes.get(recipe_name)
    if batch:
        recipe = recipe.replace(batch_size=batch)
    b = recipe.batch_size
    rng = np.random.default_rng(0)
    batches = [{"images": rng.integers(0, 255, (b, 32, 32, 3), dtype=np.uint8),
                "noise": augment.draw_noise(rng, b)} for _ in range(steps + 1)]
    twin = models.build_twin(recipe, steps_per_epoch=100)
    variables = twin.trainable_variables

    @tf.function
    def views(x):
        return twin.two_views(x["images"], x["noise"])

    @tf.function
    def forward(a, v):
        return twin.embed(a, training=True), twin.embed(v, training=True)

    @tf.function
    def gradients(a, v):
        with tf.GradientTape() as tape:
            za, zv = twin.embed(a, training=True), twin.embed(v, training=True)
            value = loss.barlow_twins_loss(za, zv, recipe.lambd)
        return tape.gradient(value, variables)

    @tf.function
    def update(grads):
        twin.optimizer.apply(grads, variables)

    def timed(fn, *args) -> float:
        fn(*args)  # compiles
        times = []
        for _ in range(steps):
            t = time.perf_counter()
            out = fn(*args)
            tf.nest.map_structure(lambda x: x.numpy() if hasattr(x, "numpy") else x, out)
            times.append(time.perf_counter() - t)
        return float(np.median(times))

    def step_time() -> float:
        twin.train_on_batch(batches[0])
        times = []
        for x in batches[1:]:
            t = time.perf_counter()
            twin.train_on_batch(x, return_dict=True)["loss"]
            times.append(time.perf_counter() - t)
        return float(np.median(times))

    step = step_time()
    images = np.concatenate([x["images"] for x in batches] * 2)[: 16 * b]
    epoch_step = epoch_path(recipe, recipe.model.precision, images, augment.draw_noise(rng, len(images)), None,
                            use_fit=False)  # whole epochs through train.train_epoch, as `barlow-twins train` runs
    a, v = views(batches[0])
    grads = gradients(a, v)
    pieces = {"views": timed(views, batches[0]), "forward": timed(forward, a, v),
              "forward and backward": timed(gradients, a, v), "update": timed(update, grads)}
    threads = hardware.threads_in_use(tf)
    return {"step": step, "epoch_step": epoch_step, **pieces, "batch": b, "gflop_per_step": step_gflop(recipe, b),
            "roof": matmul_roof(tf.float32) if threads == hardware.TENSORFLOW_THREADS else None,
            "threads": threads}  # the roof is read where TensorFlow chose its threads only


PIECES = ("step", "epoch_step", "views", "forward", "forward and backward", "update")


def fastest(measured: list[dict]) -> dict:
    """One setting's processes as one: each timing the fastest any process read (other work on the machine only
    ever slows a timing down, and a slow spell can hit one piece of a process and not the others: taking the
    whole of the fastest process once put a slow ``train_on_batch`` beside fast pieces, a 'rest' of 30%)."""
    return measured[0] | {k: min(m[k] for m in measured) for k in PIECES}


def row(setting: str, m: dict, roof: float) -> dict:
    """One setting's figures; every percentage is of ``roof``, the float32 matmul roof at TensorFlow's default
    threads (a process limited to one thread also measures a one-core roof)."""
    step, ms = m["step"], lambda s: round(1000 * s, 1)
    backward = m["forward and backward"] - m["forward"]
    rest = step - m["views"] - m["forward and backward"] - m["update"]
    epoch = m["epoch_step"]
    return {"setting": setting, "threads": m["threads"], "train path pairs/s": round(m["batch"] / epoch, 1),
            "train path GFLOP/s": round(m["gflop_per_step"] / epoch, 1),
            "train path % of fp32 roof": round(100 * m["gflop_per_step"] / epoch / roof, 1),
            "step ms": ms(step), "views ms": ms(m["views"]), "forward ms": ms(m["forward"]),
            "backward ms": ms(backward), "update ms": ms(m["update"]), "rest ms": ms(rest)}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--recipe", default="cpu")
    p.add_argument("--batch", type=int, help="override the recipe's batch size")
    p.add_argument("--steps", type=int, default=20, help="timed calls per piece (one more compiles)")
    p.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    p.add_argument("--repeats", type=int, default=2, help="processes per setting (the fastest is kept)")
    p.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)  # the child process
    p.add_argument("--out")
    args = p.parse_args()
    if args.measure:
        print(json.dumps(measure(args.recipe, args.steps, args.batch)))
        return
    started, child = time.perf_counter(), [sys.executable, __file__, "--measure", "--recipe", args.recipe,
                                                     "--steps", str(args.steps)]
    child += ["--batch", str(args.batch)] if args.batch else []
    settings = [TF_DEFAULT] + [s for s in args.settings if s != TF_DEFAULT]  # the roof is measured there
    measured = {setting: [] for setting in settings}
    for _ in range(args.repeats):  # interleaved, so that a slow spell of the machine does not hit one setting
        for setting in settings:
            done = subprocess.run(child, env=os.environ | SETTINGS[setting], capture_output=True, text=True,
                                  check=True)
            measured[setting].append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(setting, measured[setting][-1], flush=True)
    default = measured[TF_DEFAULT]  # the roof at one thread would be a one-core roof
    roof = max(m["roof"] for m in default)
    rows = []
    for setting, ms in measured.items():
        rows.append(row(setting, fastest(ms), roof)
                    | {"train path pairs/s, each process": [round(m["batch"] / m["epoch_step"]) for m in ms]})
    by_name = {r["setting"]: r for r in rows}
    base, ours = by_name[TF_DEFAULT], by_name.get(DEFAULT, rows[0])
    summary = {"float32 matmul roof (GFLOP/s, 2048^3, TensorFlow's default threads)": round(roof, 1),
               "GFLOP per step": round(default[0]["gflop_per_step"], 2)}
    summary |= {f"{r['setting']}: training-path speed vs {TF_DEFAULT}":
                round(r["train path pairs/s"] / base["train path pairs/s"], 3) for r in rows if r is not base}
    summary[f"{ours['setting']} ({ours['threads']}): the training path as % of the float32 roof"] = ours[
        "train path % of fp32 roof"]
    best = max(rows, key=lambda r: r["train path pairs/s"])
    summary[f"fastest: {best['setting']}: the training path as % of the float32 roof"] = best[
        "train path % of fp32 roof"]
    summary |= {f"share of the step ({ours['setting']}): {k}": round(ours[f"{k} ms"] / ours["step ms"], 3)
                for k in ("views", "forward", "backward", "update", "rest")}
    _common.write_result(args.out, f"Where a {args.recipe} training step's time goes (batch "
                         f"{args.batch or 'of the recipe'}), per thread setting", rows, summary, started,
                         data="random 32x32 uint8 images; each setting a fresh process, --repeats times, interleaved; "
                              "the training path: whole epochs of 16 steps through train.train_epoch after one "
                              "compiling epoch; the step and its pieces: medians of --steps calls; each timing "
                              "the fastest of the setting's processes")


if __name__ == "__main__":
    main()
