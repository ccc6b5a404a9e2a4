"""Pretraining: build the twin, restore its checkpoint, train epoch by epoch. Killed, it resumes exactly.

Each epoch's image order and augmentation noise are pure functions of ``(seed, epoch)``, so a resumed run
sees exactly the batches an uninterrupted run would. The run directory (``runs.Run``) owns every file: it
writes an atomic checkpoint after an epoch (every epoch on a CPU, at most once a minute on an accelerator:
``hardware.checkpoint_interval``) and always after the last, and the same command continues from it.
"""
from __future__ import annotations

import math
import time

import numpy as np

from . import augment, console, diagnostics, distribute, evaluate, hardware, models, steps
from .backends import keras
from .checkpoint import HISTORY_KEYS
from .data import Dataset, check_seed
from .errors import BarlowError
from .recipes import Recipe
from .runs import Run, config_for

KNN_MONITOR_TRAIN, KNN_MONITOR_EVAL = 10_000, 2_000
clock = time.perf_counter  # what checkpoint intervals are measured with (a test's fake clock replaces it)


def prepare(recipe: Recipe, ds: Dataset) -> Recipe:
    """Refuse settings that cannot train on ``ds``; adapt the recipe to the data's image size."""
    recipe.check()
    n = len(ds.x_train)
    if n < 2:  # no batch size fits: batches need 2 images (Recipe.check)
        raise BarlowError(f"{ds.name} has {n} training image{'s' * (n != 1)}; a batch needs at least 2.",
                          "use more data (raise `limit` to 2 or more, or drop it)")
    if recipe.batch_size > n:
        raise BarlowError(f"`batch_size` {recipe.batch_size} is larger than the {n} training images of {ds.name}.",
                          f"use `batch_size` {n} or less, or more data (raise or drop `limit`)")
    return recipe.for_image_size(ds.image_size)


def epoch_inputs(images: np.ndarray, batch_size: int, seed: int, epoch: int, views: int = 2) -> dict:
    """This epoch's shuffled images (remainder dropped) and their augmentation noise (``views`` per image)."""
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(images))[: len(images) // batch_size * batch_size]
    return {"images": images[order], "noise": augment.draw_noise(rng, len(order), views)}


def train_epoch(twin, inputs: dict, batch_size: int, epoch: int, epochs: int, progress: bool) -> float:
    """One pass over the epoch's batches (``steps.run_epoch``: the steps queued back to back, their losses read
    every few steps); the mean loss. Stops on a loss that is not a number, naming its step.

    (``Model.fit`` per epoch sets up a data pipeline each time; results/bench-train-step.json times both
    paths, whole epochs of the keras-io recipe.)
    """
    # a log gets Monitor's one line per epoch instead of a bar
    with console.bar(len(inputs["images"]) // batch_size, f"epoch {epoch}/{epochs}", "step", shown=progress) as bar:
        def on_read(first: int, losses: np.ndarray):
            for i, loss in enumerate(losses, start=first + 1):
                if not math.isfinite(loss):
                    raise BarlowError(f"the loss became {loss} at epoch {epoch}, step {i}.",
                                      "train again into a new folder with a lower `learning_rate` (or in float32), "
                                      "and check the images for NaN: resuming this run repeats its settings and "
                                      "diverges again")
            bar.update(len(losses))
            bar.set_postfix(loss=f"{losses[-1]:.2f}", refresh=False)

        losses = steps.run_epoch(twin, inputs, batch_size, on_read)
    return float(np.mean(losses))


def knn_monitor(backbone, ds: Dataset) -> float | None:
    """kNN on fixed random subsets (images are often stored class by class: a prefix would be 2 classes)."""
    if ds.y_train is None or ds.y_eval is None:
        return None
    rng = np.random.default_rng(0)
    tr = rng.permutation(len(ds.x_train))[:KNN_MONITOR_TRAIN]
    ev = rng.permutation(len(ds.x_eval))[:KNN_MONITOR_EVAL]
    return evaluate.backbone_knn(backbone, ds.x_train[tr], ds.y_train[tr], ds.x_eval[ev], ds.y_eval[ev])


class Monitor:
    """Everything measured after an epoch besides the loss: kNN, diagnostics snapshots, TensorBoard, a log line."""

    def __init__(self, recipe: Recipe, ds: Dataset, run: Run, progress: bool):
        self.recipe, self.ds, self.progress = recipe, ds, progress
        self.snapshots = set(diagnostics.snapshot_epochs(recipe.epochs))
        self.batch = diagnostics.fixed_batch(ds)
        self.writer = _scalar_writer(run.tensorboard_dir)
        self.pairs = len(ds.x_train) // recipe.batch_size * recipe.batch_size

    def snapshot(self, twin, epoch: int) -> dict | None:
        if epoch not in self.snapshots:
            return None
        return diagnostics.measure(twin, *self.batch, self.recipe, self.recipe.lambd)

    def after_epoch(self, twin, epoch: int, loss: float, seconds: float) -> dict:
        r = self.recipe
        due = r.knn_every and (epoch % r.knn_every == 0 or epoch == r.epochs)
        knn = knn_monitor(models.probed(models.at_size(twin.backbone, r.model, self.ds.image_size), r.model),
                          self.ds) if due else None
        lr = float(keras.ops.convert_to_numpy(twin.optimizer.learning_rate))
        _write_scalars(self.writer, epoch, {"loss": loss, "knn_accuracy": knn, "learning_rate": lr,
                                            "pairs_per_second": self.pairs / seconds})
        if self.progress:
            extra = f", kNN {knn:.1%}" if knn is not None else ""
            print(f"epoch {epoch}/{r.epochs}: loss {loss:.2f}{extra} ({seconds:.1f} s)")
        return dict(zip(HISTORY_KEYS, (epoch, loss, knn, lr, round(seconds, 3)), strict=True))


def train(recipe: Recipe, ds: Dataset, out, *, seed: int = 0, devices: int = 1, progress: bool = True,
          max_epochs: int | None = None, checkpoint_seconds: float | None = None) -> Run:
    """Pretrain (or resume) a run in ``out``; returns the Run. ``max_epochs`` stops early, resumable.

    A checkpoint is written after an epoch once ``checkpoint_seconds`` have passed since the last one
    (default: every epoch on a CPU, at most once a minute on an accelerator) and always after the last epoch.
    """
    recipe, run = prepare(recipe, ds), Run(out)
    config = config_for(recipe, ds, seed=check_seed(seed), devices=distribute.check_devices(devices, recipe))
    if run.is_finished_run_of(config):  # reads only: a finished run on read-only media is fine
        if progress:
            print(f"{run.path}:\n  already holds this finished run, nothing to train")
        return run
    with run.training(config) as session, distribute.device_scope(devices):
        keras.utils.set_random_seed(seed)
        steps = len(ds.x_train) // recipe.batch_size
        twin = models.build_twin(recipe, sync_bn=distribute.needs_sync_bn(devices), steps_per_epoch=steps)
        start, history = session.restore(twin)
        if progress and session.notes:
            print("\n".join(session.notes))
        monitor, interval = Monitor(recipe, ds, run, progress), hardware.checkpoint_interval(checkpoint_seconds)
        if start == 0:
            session.save_snapshot(0, monitor.snapshot(twin, 0))
        stop, saved_at = min(recipe.epochs, start + (max_epochs or recipe.epochs)), clock()
        for epoch in range(start + 1, stop + 1):
            t0 = time.perf_counter()
            twin.use_view_size(recipe.view_size_at(epoch))
            inputs = epoch_inputs(ds.x_train, recipe.batch_size, seed, epoch - 1, recipe.views)
            loss = train_epoch(twin, inputs, recipe.batch_size, epoch, recipe.epochs, progress)
            for key, value in monitor.after_epoch(twin, epoch, loss, time.perf_counter() - t0).items():
                history[key].append(value)
            if epoch == stop or clock() - saved_at >= interval:
                session.save_epoch(twin, history, monitor.snapshot(twin, epoch))
                saved_at = clock()
            elif (snapshot := monitor.snapshot(twin, epoch)) is not None:
                session.save_snapshot(epoch, snapshot)
        if len(history["epoch"]) == recipe.epochs:
            session.finish(twin, recipe, history)
    return run


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
