"""The write side of a run folder: a run held open for training restores its checkpoint, saves each epoch
(checkpoint, history, diagnostics) and finishes (exports, provenance, "complete" last). ``Run.training``
makes one, holding the run's lock; every write goes through ``files`` (atomic, whole or absent).
"""
from __future__ import annotations

import subprocess

import numpy as np

from . import checkpoint, files, hardware, provenance
from .checkpoint import HISTORY_KEYS
from .errors import BarlowError
from .recipes import Recipe
from .runs import Run, differences


class Training:
    """A run held open for training: restore, save each epoch, finish. Made by ``Run.training``."""

    def __init__(self, run: Run, config: dict):
        self.run, self.config, self.saved, self.notes = run, config, 0, []
        files.remove_temp_files(run.path)  # left by a killed write
        meta = checkpoint.read_meta(run.checkpoint_path) if run.checkpoint_path.exists() else None
        self._check_settings(meta)
        if not run.config_path.exists():
            files.write_json(run.config_path, config)
        if not run.provenance_path.exists():
            files.write_json(run.provenance_path, {"start": provenance.collect(), "end": None})

    def _check_settings(self, meta):
        run, name = self.run, self.run.path
        try:
            recorded = run.config() if run.config_path.exists() else None
        except BarlowError:
            if not (meta and "config" in meta):
                raise
            recorded = None
            run.config_path.unlink()
        if recorded is None and meta is not None:
            if "config" not in meta:
                raise BarlowError(f"{name} has a checkpoint but no config.json, and the checkpoint does not say "
                                  "which settings made it.", "restore config.json, or train into a new folder")
            recorded = meta["config"]
            if not differences(recorded, self.config):
                self.notes.append("config.json was missing or damaged: rewritten from the checkpoint")
        if meta is None and self._epochs_recorded():
            raise BarlowError(f"{name} records finished epochs but its checkpoint is gone, so it can be neither "
                              "resumed nor exported again.", "train into a new folder")
        if recorded is None:
            others = [p.name for p in run.path.iterdir() if not p.name.startswith(".") and p.name != "tensorboard"]
            if others:
                raise BarlowError(f"{name} is not empty ({', '.join(sorted(others)[:4])}) and holds no run.",
                                  "train into a new or empty folder")
            return
        changed = differences(recorded, self.config)
        if changed:
            raise BarlowError(f"{name} already holds a run with other settings ({', '.join(changed)} differ; it was "
                              f"recipe {recorded['recipe']['name']!r} on {recorded['data']!r}).",
                              "train into a new folder, or repeat the original options to resume")

    def _epochs_recorded(self) -> int:
        try:
            return len(self.run.history().get("epoch", []))
        except BarlowError:
            return 0

    def restore(self, twin) -> tuple[int, dict]:
        """Load the checkpoint into ``twin``; (epochs done, history). history.json is rewritten to match."""
        if not self.run.checkpoint_path.exists():
            return 0, {k: [] for k in HISTORY_KEYS}
        meta = checkpoint.restore(self.run.checkpoint_path, twin, twin.optimizer)
        self.notes.append(f"resuming {self.run.path} after epoch {meta['epoch']}/{self.config['recipe']['epochs']}")
        history = {k: v for k, v in meta["history"].items() if k != "complete"}
        files.write_json(self.run.history_path, {**history, "complete": False})  # mirrors the checkpoint again
        return meta["epoch"], history

    def save_epoch(self, twin, history: dict, snapshot: dict | None = None):
        """After an epoch: its diagnostics (if any), then the checkpoint, then history.json."""
        epoch = history["epoch"][-1]
        self.save_snapshot(epoch, snapshot)
        checkpoint.save(self.run.checkpoint_path, twin, twin.optimizer,
                        {"epoch": epoch, "history": history, "config": self.config})
        files.write_json(self.run.history_path, {**history, "complete": False})
        self.saved += 1

    def save_snapshot(self, epoch: int, snapshot: dict | None):
        if snapshot is None:
            return

        def write(tmp):
            with open(tmp, "wb") as f:
                np.savez(f, **{k: np.asarray(v) for k, v in snapshot.items()})

        files.atomic_write(self.run.diagnostics_dir / f"epoch-{epoch:04d}.npz", write)

    def finish(self, twin, recipe: Recipe, history: dict):
        """Export the backbone (at the images' size) and projector, close provenance, then mark complete.
        With ``ema_momentum`` the exported weights are the moving average (the checkpoint keeps both)."""
        from . import models
        from .batchnorm import portable

        twin.optimizer.finalize_variable_values(twin.trainable_variables)  # a no-op without the average
        files.atomic_write(self.run.projector_path, lambda p: portable(twin.projector).save(p))
        backbone = models.at_size(twin.backbone, recipe.model, recipe.augment.image_size)
        files.atomic_write(self.run.backbone_path, lambda p: portable(backbone).save(p))
        try:
            prov = self.run.provenance() or {"start": None}
        except BarlowError:  # damaged: the end is still worth recording
            prov = {"start": None}
        train_seconds = round(sum(history["seconds"]), 1)
        prov |= {"end": provenance.collect() | _roof(train_seconds), "train_seconds": train_seconds}
        files.write_json(self.run.provenance_path, prov)
        files.write_json(self.run.history_path, {**history, "complete": True})  # last: the run is finished


ROOF_AFTER_SECONDS = 60.0  # a shorter training is not worth the roof's seconds (a fresh TensorFlow process)


def _roof(train_seconds: float) -> dict:
    """On a CPU, the float32 matmul roof measured as the training ends, on the cores it just ran on (a roof
    measured later, when ``record`` runs, may find them busier or quieter): the record sets it beside the
    training time, so a reader can scale the time to their machine's."""
    if hardware.accelerator() or train_seconds < ROOF_AFTER_SECONDS:
        return {}
    try:
        return {"cpu_float32_matmul_roof_gflops": round(hardware.matmul_roof("float32"), 1)}
    except (OSError, subprocess.SubprocessError, ValueError):  # a measurement beside the run never fails it
        return {}
