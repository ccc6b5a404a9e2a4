"""Mixed float16 with loss scaling against float32: the `smoke` recipe trained in both, several seeds each.

    python bench/float16_smoke.py --seeds 0 1 2 --out results/float16-smoke.json

On a GPU without bfloat16 (Colab's free T4) ``precision="auto"`` trains in mixed float16, with the loss
scaled by Keras' ``LossScaleOptimizer`` and the loss itself in float32 (``hardware.auto_precision``). That
must train as well as float32. Each seed trains the `smoke` recipe on the shipped CIFAR-10 sample twice, in
float32 and in mixed float16, from the same initial weights and batches; the table sets each run's last-epoch
loss and kNN accuracy side by side, with the steps that loss scaling skipped (a step whose scaled gradients
overflow float16 is dropped and the scale halved). The summary says whether float16's mean differs from
float32's by more than two standard errors of the difference (each side's seed-to-seed spread).

It runs on JAX whatever ``KERAS_BACKEND`` says: on a CPU, TensorFlow emulates float16 kernels (about 150 times
slower than float32 on 2 cores), while XLA computes them at float32's speed, storing each tensor between
operations in float16 as a GPU does.
"""
import os

os.environ["KERAS_BACKEND"] = "jax"  # before anything imports Keras (see above)

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import _common  # noqa: E402
import numpy as np  # noqa: E402
from barlow_lib import data, recipes, train  # noqa: E402
from barlow_lib.backends import keras  # noqa: E402

PRECISIONS = ("float32", "mixed_float16")


def skipped_steps(run, recipe, steps: int) -> int:
    """Steps the loss-scaling optimizer dropped: all steps taken less the inner optimizer's updates."""
    from barlow_lib import checkpoint, models

    twin = models.build_twin(recipe, steps_per_epoch=steps // recipe.epochs)
    checkpoint.restore(run.checkpoint_path, twin, twin.optimizer)
    optimizer = twin.optimizer
    if not isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return 0
    return steps - int(keras.ops.convert_to_numpy(optimizer.inner_optimizer.iterations))


def beyond_noise(a: np.ndarray, b: np.ndarray) -> bool | None:
    """Whether two groups' means differ by more than two standard errors of the difference (None: one seed)."""
    if min(len(a), len(b)) < 2:
        return None
    return bool(abs(a.mean() - b.mean()) > 2 * np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b)))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--out")
    args = p.parse_args()
    started = time.perf_counter()
    ds = data.load("cifar10-sample")
    base = recipes.get("smoke")
    rows, folder = [], tempfile.mkdtemp(prefix="float16-smoke-")
    for seed in args.seeds:
        for precision in PRECISIONS:
            recipe = base.replace(model={"precision": precision})
            run = train.train(recipe, ds, f"{folder}/{precision}-{seed}", seed=seed, progress=False)
            history = run.history()
            steps = len(ds.x_train) // recipe.batch_size * recipe.epochs
            rows.append({"seed": seed, "precision": precision, "last-epoch loss": round(history["loss"][-1], 2),
                         "kNN": run.evaluate("knn", ds)["accuracy"],
                         "skipped steps": f"{skipped_steps(run, recipe, steps)} of {steps}",
                         "train s": round(sum(history["seconds"]), 1)})
            print(rows[-1], flush=True)
    summary = {}
    for key in ("last-epoch loss", "kNN"):
        a, b = (np.array([r[key] for r in rows if r["precision"] == p]) for p in PRECISIONS)
        summary[f"{key}: float32 mean"] = round(float(a.mean()), 4)
        summary[f"{key}: mixed_float16 mean"] = round(float(b.mean()), 4)
        verdict = beyond_noise(b, a)
        summary[f"{key}: float16 minus float32"] = (
            f"{b.mean() - a.mean():+.4g}" + ("" if verdict is None else " (beyond noise)" if verdict else " (noise)"))
    _common.write_result(args.out, "Mixed float16 with loss scaling against float32, the smoke recipe", rows,
                         summary, started, data=ds.describe(), recipe=base.to_dict(), backend="jax")


if __name__ == "__main__":
    main()
