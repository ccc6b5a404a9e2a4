"""Train-step throughput on this CPU: the variants that matter, side by side in one run.

    python bench/train_step.py --out results/bench-train-step.json

Baseline: a plain float32 Keras implementation of the keras-io recipe - the same model and batch, fed by the
keras-io example's per-image tf.data augmentation, no XLA. Every variant starts from the same weights and sees
the same images, and its per-step losses are compared with the float32 run's: a fast variant that changes
the loss curve beyond noise does not count as correct. Two rows time whole epochs the way training runs them
(``train.train_epoch``, what `barlow-twins train` runs, and ``Model.fit`` per epoch, what it ran before), in
steady state: the first epoch, which compiles, is not timed.
"""
import argparse
import time

import _common  # noqa: F401  (quiet TensorFlow)
import keras
import numpy as np
import tensorflow as tf

from barlow_lib import augment, hardware, models, recipes, train
from keras_io_pipeline import pairs_dataset


class TwinOnViews(models.BarlowTwins):
    """The twin fed ready-made views: augmentation happens outside the step."""

    def call(self, inputs, training=False):
        return keras.ops.stack([self.embed(inputs["view_a"], training), self.embed(inputs["view_b"], training)], axis=1)


def build(recipe, precision, on_views=False, weights=None):
    keras.utils.set_random_seed(0)
    twin = models.build_twin(recipe.replace(model={"precision": precision}))
    if on_views:
        twin = TwinOnViews(twin.backbone, twin.projector, recipe.augment, recipe.lambd)
    if weights is not None:
        twin.backbone.set_weights(weights[0])
        twin.projector.set_weights(weights[1])
    return twin


def run_steps(twin, batches, jit):
    """Loss of each step, and the seconds of each step after the first (which compiles)."""
    twin.compile(optimizer=keras.optimizers.Lamb(1e-3), jit_compile=jit)
    losses, times = [], []
    for b in batches:
        t = time.perf_counter()
        out = twin.train_on_batch(b, return_dict=True)
        losses.append(float(out["loss"]))
        times.append(time.perf_counter() - t)
    return losses, times[1:]


def epoch_path(recipe, precision, images, noise, weights, use_fit: bool) -> float:
    """Seconds per step over a whole epoch of ``images`` as training runs it, after one compiling epoch."""
    twin = build(recipe, precision, weights=weights)
    b = recipe.batch_size
    twin.compile(optimizer=keras.optimizers.Lamb(1e-3), jit_compile=hardware.resolve_jit(recipe.jit_compile))
    inputs = {"images": images, "noise": noise}
    times = []
    for epoch in range(2):
        t = time.perf_counter()
        if use_fit:
            twin.fit(inputs, batch_size=b, epochs=epoch + 1, initial_epoch=epoch, shuffle=False, verbose=0)
        else:
            train.train_epoch(twin, inputs, b, epoch + 1, 2, progress=False)
        times.append(time.perf_counter() - t)
    return times[-1] / (len(images) // b)


def matmul_roof(dtype, n=2048):
    """GFLOP/s of one large matrix product at TensorFlow's default threads: ``hardware.matmul_roof``."""
    return hardware.matmul_roof(tf.as_dtype(dtype).name, n)


def step_gflop(recipe, batch):
    """FLOPs of one step: encoder and projector, forward (x1) and backward (x2), on two views."""
    twin = models.build_twin(recipe)
    d = twin.projector.output.shape[-1]
    return (models.pair_flops(twin.backbone, twin.projector) * batch + 6 * batch * d * d) / 1e9


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--steps", type=int, default=4, help="timed steps per variant (one more compiles)")
    p.add_argument("--out")
    args = p.parse_args()
    started = time.perf_counter()
    b, n = args.batch, args.batch * (args.steps + 1)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (n, 32, 32, 3), dtype=np.uint8)
    noise = augment.draw_noise(rng, n)
    seed = recipes.get("keras-io").replace(batch_size=b)
    ref = build(seed, "float32")
    weights = (ref.backbone.get_weights(), ref.projector.get_weights())
    batches = [{"images": images[i:i + b], "noise": noise[i:i + b]} for i in range(0, n, b)]
    rows = []

    def record(name, losses, times, pairs_per_s=None):
        rows.append({"recipe": name.split(":")[0], "variant": name.split(": ")[1], "step_s": float(np.median(times)),
                     "pairs/s": round(pairs_per_s or b / float(np.median(times)), 1), "losses": losses})

    # Baseline: the keras-io example's approach, end to end (per-image tf.data pipeline feeding a float32 step).
    twin = build(seed, "float32", on_views=True, weights=weights)
    twin.compile(optimizer=keras.optimizers.Lamb(1e-3), jit_compile=False)
    ds = pairs_dataset(images, b, seed.augment).map(lambda a, v: {"view_a": a, "view_b": v})
    it = iter(ds)
    twin.train_on_batch(next(it))  # compile
    t = time.perf_counter()
    for _ in range(args.steps):
        twin.train_on_batch(next(it))
    record("keras-io: plain float32 Keras, per-image tf.data augmentation", [],
           [(time.perf_counter() - t) / args.steps])

    auto = hardware.resolve_precision(seed.model.precision)
    for use_fit, what in ((False, "train.train_epoch, what barlow-twins train runs"), (True, "Model.fit per epoch")):
        step_s = epoch_path(seed, auto, images, noise, weights, use_fit)
        record(f"keras-io: whole epochs through {what} ({auto})", [], [step_s])

    for precision, jit in (("float32", False), ("float32", True), ("mixed_bfloat16", False), ("mixed_bfloat16", True)):
        losses, times = run_steps(build(seed, precision, weights=weights), batches, jit)
        record(f"keras-io: ours, {precision}, XLA {'on' if jit else 'off'}, augmentation in the step", losses, times)

    views = [dict(zip(("view_a", "view_b"), map(np.asarray, augment.two_views(x["images"], x["noise"], seed.augment))))
             for x in batches]
    losses, times = run_steps(build(seed, "float32", on_views=True, weights=weights), views, False)
    record("keras-io: ours, float32, XLA off, augmentation outside the step (views precomputed, not timed)", losses,
           times)

    for name in ("cifar", "cpu"):
        r = recipes.get(name)
        bs = min(r.batch_size, b)
        xs = [{"images": images[i:i + bs], "noise": noise[i:i + bs]} for i in range(0, bs * 3, bs)]
        precision, jit = hardware.resolve_precision(r.model.precision), hardware.resolve_jit(r.jit_compile)
        losses, times = run_steps(build(r.replace(batch_size=bs), precision), xs, jit)
        record(f"{name}: recipe default here ({precision}, XLA {'on' if jit else 'off'}, batch {bs})", losses, times)
    cpu = recipes.get("cpu")
    cpu_images = np.concatenate([images] * max(1, -(-cpu.batch_size * 8 // n)))[:cpu.batch_size * 8]
    step_s = epoch_path(cpu, hardware.resolve_precision(cpu.model.precision), cpu_images,
                        augment.draw_noise(rng, len(cpu_images)), None, use_fit=False)
    record("cpu: whole epochs through train.train_epoch, what barlow-twins train runs (8 steps)", [], [step_s])

    base = rows[0]["pairs/s"]
    ref_losses = next(r["losses"] for r in rows if r["losses"])
    gflop = {name: step_gflop(recipes.get(name), min(recipes.get(name).batch_size, b))
             for name in ("keras-io", "cifar", "cpu")}
    for r in rows:
        r["GFLOP/s"] = round(gflop[r["recipe"]] / r["step_s"], 1)
        r["speed-up vs plain"] = round(r["pairs/s"] / base, 2) if r["recipe"] == "keras-io" else ""
        if r["recipe"] == "keras-io" and r["losses"]:
            dev = max(abs(a - c) / abs(c) for a, c in zip(r["losses"], ref_losses))
            r["max loss deviation vs float32"] = f"{dev:.2%}"
        r.pop("losses")
    seed_rows = [r for r in rows[1:] if r["recipe"] == "keras-io"]
    best = max(seed_rows, key=lambda r: r["pairs/s"])
    real = rows[1]
    cpu_path = rows[-1]
    roof32, roof16 = matmul_roof(tf.float32), matmul_roof(tf.bfloat16)
    _common.write_result(args.out, f"Train-step throughput, batch {b}, CPU", rows,
                         {"fastest keras-io variant": best["variant"],
                          "its speed-up over the plain float32 Keras step": best["speed-up vs plain"],
                          "barlow-twins train path over the plain float32 step": real["speed-up vs plain"],
                          "float32 matmul roof (GFLOP/s, 2048^3)": round(roof32, 1),
                          "bfloat16 matmul roof (GFLOP/s, 2048^3)": round(roof16, 1),
                          "plain float32 step as % of the float32 roof":
                              round(100 * rows[0]["GFLOP/s"] / roof32, 1),
                          "cpu recipe's training path (pairs/s)": cpu_path["pairs/s"],
                          "cpu recipe's training path as % of the float32 roof":
                              round(100 * cpu_path["GFLOP/s"] / roof32, 1)}, started,
                         data=f"random 32x32 uint8 images, {args.steps} timed steps after one compiling step "
                              "(whole-epoch rows: one epoch of those images after one compiling epoch)")


if __name__ == "__main__":
    main()
