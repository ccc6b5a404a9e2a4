"""Pretraining: an epoch loop around ``keras.Model.fit`` that can be killed and resumed.

Each epoch's image order and augmentation noise are pure functions of
``(seed, epoch)``, so a resumed run sees exactly the batches an uninterrupted
run would. After every epoch the weights, optimizer state and history go into
one atomic checkpoint; starting the same command again continues from it.
"""
from __future__ import annotations

import math
import sys
import time

import keras
import numpy as np
from tqdm import tqdm

from . import augment, checkpoint, distribute, evaluate, hardware, models, provenance
from .data import Dataset
from .errors import BarlowError
from .recipes import Recipe
from .runs import Run

KNN_MONITOR_TRAIN, KNN_MONITOR_EVAL = 10_000, 2_000


def validate(recipe: Recipe, ds: Dataset) -> Recipe:
    """Refuse settings that cannot train; adapt the recipe to the data's image size."""
    n, b = len(ds.x_train), recipe.batch_size
    if b < 2:
        raise BarlowError(f"--batch-size {b}: Barlow Twins standardises every feature over the batch, "
                          "which needs at least 2 images (and 64+ for a useful estimate).", "use --batch-size 64 or more")
    if b > n:
        raise BarlowError(f"--batch-size {b} is larger than the {n} training images of {ds.name}.",
                          f"use --batch-size {n} or less, or more data (raise or drop --limit)")
    return recipe.for_image_size(ds.image_size)


def make_optimizer(recipe: Recipe, steps_per_epoch: int):
    """LAMB, with an optional linear warmup and cosine decay; no weight decay on biases or BN."""
    lr = recipe.learning_rate
    warmup = recipe.warmup_epochs * steps_per_epoch
    if recipe.schedule == "cosine":
        lr = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=0.0 if warmup else lr, warmup_target=lr if warmup else None,
            warmup_steps=warmup, decay_steps=max(1, recipe.epochs * steps_per_epoch - warmup))
    opt = keras.optimizers.Lamb(learning_rate=lr, weight_decay=recipe.weight_decay or None)
    if recipe.weight_decay:
        opt.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    return opt


def epoch_inputs(images: np.ndarray, batch_size: int, seed: int, epoch: int) -> dict:
    """This epoch's shuffled images (remainder dropped) and their augmentation noise."""
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(images))[: len(images) // batch_size * batch_size]
    return {"images": images[order], "noise": augment.draw_noise(rng, len(order))}


class _StepMonitor(keras.callbacks.Callback):
    """A progress bar per epoch, and a clear stop when the loss stops being a number."""

    def __init__(self, epoch: int, epochs: int, steps: int, progress: bool):
        super().__init__()
        self.epoch, self.epochs, self.steps, self.progress = epoch, epochs, steps, progress

    def on_train_begin(self, logs=None):
        self.bar = tqdm(total=self.steps, desc=f"epoch {self.epoch + 1}/{self.epochs}", unit="step",
                        file=sys.stdout, disable=not self.progress, mininterval=1.0)

    def on_train_batch_end(self, batch, logs=None):
        loss = float(logs["loss"])
        if not math.isfinite(loss):
            self.bar.close()
            raise BarlowError(
                f"the loss became {loss} at epoch {self.epoch + 1}, step {batch + 1}.",
                "lower the learning rate (--lr), train in float32, or check the images for NaN; "
                "the last checkpoint is intact, so the run can restart from it")
        self.bar.update(1)
        self.bar.set_postfix(loss=f"{loss:.2f}", refresh=False)

    def on_train_end(self, logs=None):
        self.bar.close()


def _scalar_writer(logdir):
    try:
        import tensorboard  # noqa: F401  (tf.summary needs it)
        import tensorflow as tf
    except ImportError:  # JAX-only machines: history.json still has every number
        return None
    return tf.summary.create_file_writer(str(logdir))


def _write_scalars(writer, step: int, values: dict):
    if writer is None:
        return
    import tensorflow as tf

    with writer.as_default():
        for name, value in values.items():
            if value is not None:
                tf.summary.scalar(name, value, step=step)
    writer.flush()


def _knn_monitor(backbone, ds: Dataset) -> float | None:
    """kNN on fixed random subsets (images are often stored class by class: a prefix would be 2 classes)."""
    if ds.y_train is None or ds.y_eval is None:
        return None
    rng = np.random.default_rng(0)
    tr = rng.permutation(len(ds.x_train))[:KNN_MONITOR_TRAIN]
    ev = rng.permutation(len(ds.x_eval))[:KNN_MONITOR_EVAL]
    return evaluate.backbone_knn(backbone, ds.x_train[tr], ds.y_train[tr], ds.x_eval[ev], ds.y_eval[ev])


def train(recipe: Recipe, ds: Dataset, out, *, source: str | None = None, seed: int = 0, devices: int = 1,
          limit: int | None = None, progress: bool = True, max_epochs: int | None = None) -> Run:
    """Pretrain (or resume) a run in ``out``; returns the Run. ``max_epochs`` stops early, resumable."""
    recipe = validate(recipe, ds)
    run = Run(out)
    config = {"recipe": recipe.to_dict(), "data": source or ds.name, "limit": limit, "seed": seed,
              "devices": devices, "eval_split": ds.eval_split}
    if run.exists():
        old = run.config()
        changed = [k for k in ("recipe", "data", "limit", "seed") if old.get(k) != config[k]]
        if changed:
            raise BarlowError(f"{run.path} already holds a run with other settings ({', '.join(changed)} differ; "
                              f"it was recipe {old['recipe']['name']!r} on {old['data']!r}).",
                              "pass a new --out folder, or repeat the original options to resume")
    steps = len(ds.x_train) // recipe.batch_size
    keras.utils.set_random_seed(seed)
    with distribute.device_scope(devices):
        sync_bn = devices > 1 and keras.backend.backend() == "tensorflow"
        twin = models.build_twin(recipe.model, recipe.augment, recipe.lambd, sync_bn=sync_bn)
        optimizer = make_optimizer(recipe, steps)
        optimizer.build(twin.trainable_variables)
        twin.compile(optimizer=optimizer, jit_compile=hardware.resolve_jit(recipe.jit_compile))
        history = {"epoch": [], "loss": [], "knn_accuracy": [], "lr": [], "seconds": [], "complete": False}
        start = 0
        if run.checkpoint_path.exists():
            meta = checkpoint.restore(run.checkpoint_path, twin, optimizer)
            start, history = meta["epoch"], meta["history"]
            if progress:
                print(f"resuming {run.path} after epoch {start}/{recipe.epochs}")
        if not run.exists():
            checkpoint.write_json(run.provenance_path, {"start": provenance.collect(), "end": None})
            checkpoint.write_json(run.config_path, config)
        writer = _scalar_writer(run.tensorboard_dir)
        stop = recipe.epochs if max_epochs is None else min(recipe.epochs, start + max_epochs)
        for epoch in range(start, stop):
            t0 = time.perf_counter()
            monitor = _StepMonitor(epoch, recipe.epochs, steps, progress)
            fit = twin.fit(epoch_inputs(ds.x_train, recipe.batch_size, seed, epoch), batch_size=recipe.batch_size,
                           epochs=epoch + 1, initial_epoch=epoch, shuffle=False, verbose=0, callbacks=[monitor])
            seconds = time.perf_counter() - t0
            monitor_now = recipe.knn_every and ((epoch + 1) % recipe.knn_every == 0 or epoch + 1 == recipe.epochs)
            knn = _knn_monitor(models.at_size(twin.backbone, recipe.model, ds.image_size), ds) if monitor_now else None
            lr = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
            row = {"epoch": epoch + 1, "loss": float(fit.history["loss"][-1]), "knn_accuracy": knn, "lr": lr,
                   "seconds": round(seconds, 3)}
            for key, value in row.items():
                history[key].append(value)
            history["complete"] = epoch + 1 == recipe.epochs
            checkpoint.save(run.checkpoint_path, twin, optimizer, {"epoch": epoch + 1, "history": history})
            checkpoint.write_json(run.history_path, history)
            _write_scalars(writer, epoch + 1, {"loss": row["loss"], "knn_accuracy": knn, "learning_rate": lr,
                                               "pairs_per_second": steps * recipe.batch_size / seconds})
            if progress:
                extra = f", kNN {knn:.1%}" if knn is not None else ""
                print(f"epoch {epoch + 1}/{recipe.epochs}: loss {row['loss']:.2f}{extra} ({seconds:.1f} s)")
        if history["complete"] and not run.backbone_path.exists():
            checkpoint.atomic_write(run.projector_path, lambda p: twin.projector.save(p))
            backbone = models.at_size(twin.backbone, recipe.model, ds.image_size)
            checkpoint.atomic_write(run.backbone_path, lambda p: backbone.save(p))  # last: marks completion
            prov = run.provenance()
            prov["end"] = provenance.collect()
            prov["train_seconds"] = round(sum(history["seconds"]), 1)
            checkpoint.write_json(run.provenance_path, prov)
    return run
