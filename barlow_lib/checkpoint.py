"""Training checkpoints: every model variable, every optimizer variable and a JSON blob, in one ``.npz``.

Model variables (weights, BN moving statistics) and optimizer variables (step counter, moments) are stored
by position; the blob holds where training stands (epoch, history) and the run's config, so a run folder
that lost its config.json can still be checked against the command that resumes it. No pickling, no
backend dependence; written atomically (``files.atomic_write``).
"""
from __future__ import annotations

import json
import zipfile

import numpy as np

from . import files
from .errors import BarlowError

HISTORY_KEYS = ("epoch", "loss", "knn_accuracy", "lr", "seconds")  # history: one list each, a value per epoch
_DAMAGED_FIX = ("delete it and the run's history.json to restart training from the first epoch (the finished "
                "epochs are lost), or start again in a new folder")


def save(path, model, optimizer, meta: dict):
    arrays = {f"model_{i}": np.asarray(v.numpy()) for i, v in enumerate(model.variables)}
    arrays |= {f"opt_{i}": np.asarray(v.numpy()) for i, v in enumerate(optimizer.variables)}
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)

    def write(tmp):
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)

    return files.atomic_write(path, write)


def _open(path):
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise BarlowError(f"checkpoint {path} is damaged ({type(exc).__name__}: {exc}).", _DAMAGED_FIX) from exc


def _meta(f, path) -> dict:
    try:
        meta = json.loads(f["meta"].tobytes().decode())
    except (KeyError, ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise BarlowError(f"checkpoint {path} is damaged (its meta record: {exc}).", _DAMAGED_FIX) from exc
    problem = _meta_problem(meta)
    if problem:
        raise BarlowError(f"checkpoint {path} is damaged (its meta record {problem}).", _DAMAGED_FIX)
    return meta


def _meta_problem(meta) -> str | None:
    """What is wrong with a decoded meta record (what ``save`` writes: epoch, history, config), or None."""
    if not isinstance(meta, dict):
        return f"is a JSON {type(meta).__name__}, not an object"
    epoch, history = meta.get("epoch"), meta.get("history")
    if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0:
        return f"has no epoch count (epoch: {epoch!r})"
    if not isinstance(history, dict) or not all(isinstance(history.get(k), list)
                                                    for k in HISTORY_KEYS):
        return "has no history of the finished epochs"
    if len(history["epoch"]) != epoch:
        return f"says epoch {epoch} but its history holds {len(history['epoch'])} epochs"
    if "config" in meta and not isinstance(meta["config"], dict):
        return "has a config that is not a JSON object"
    return None


def read_meta(path) -> dict:
    """Where the checkpoint's run stood, without loading any weights."""
    with _open(path) as f:
        return _meta(f, path)


def restore(path, model, optimizer) -> dict:
    """Load weights and optimizer state into built objects; return the saved meta."""
    if not optimizer.built:
        optimizer.build(model.trainable_variables)
    with _open(path) as f:
        meta = _meta(f, path)
        for prefix, variables in (("model", model.variables), ("opt", optimizer.variables)):
            saved = sorted((k for k in f.files if k.startswith(prefix + "_")), key=lambda k: int(k.split("_")[1]))
            if len(saved) != len(variables):
                raise BarlowError(f"checkpoint {path} holds {len(saved)} {prefix} variables, the model has "
                                  f"{len(variables)}: it belongs to another architecture.",
                                  "start again in a new folder, or with the settings that created this one")
            try:
                values = [f[key] for key in saved]
            except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
                raise BarlowError(f"checkpoint {path} is damaged ({type(exc).__name__}: {exc}).",
                                  _DAMAGED_FIX) from exc
            for value, var in zip(values, variables):
                if tuple(value.shape) != tuple(var.shape):
                    raise BarlowError(f"checkpoint {path}: {var.path} has shape {value.shape}, model wants "
                                      f"{tuple(var.shape)}.", "start again in a new folder")
                var.assign(value)
        return meta
