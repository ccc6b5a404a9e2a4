"""Atomic files and training checkpoints that survive SIGKILL.

Every file is written to a temporary name in the same folder, flushed to disk
and then renamed over the old one: a kill at any moment leaves either the old
complete file or the new complete one, never half of one.

A checkpoint is one ``.npz`` holding every model variable (weights, BN moving
statistics), every optimizer variable (step counter, moments) and a JSON blob
(epoch, history). It does not depend on the backend or on pickling.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from .errors import BarlowError


def atomic_write(path, write) -> Path:
    """Call ``write(tmp_path)`` and then rename tmp_path over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}{path.suffix}")
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def write_json(path, obj) -> Path:
    return atomic_write(path, lambda p: Path(p).write_text(json.dumps(obj, indent=2) + "\n"))


def read_json(path):
    return json.loads(Path(path).read_text())


def save(path, model, optimizer, meta: dict) -> Path:
    arrays = {f"model_{i}": np.asarray(v.numpy()) for i, v in enumerate(model.variables)}
    arrays |= {f"opt_{i}": np.asarray(v.numpy()) for i, v in enumerate(optimizer.variables)}
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)

    def write(tmp):
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)

    return atomic_write(path, write)


def read_meta(path) -> dict:
    with np.load(path) as f:
        return json.loads(f["meta"].tobytes().decode())


def restore(path, model, optimizer) -> dict:
    """Load weights and optimizer state into built objects; return the saved meta."""
    if not optimizer.built:
        optimizer.build(model.trainable_variables)
    with np.load(path) as f:
        for prefix, variables in (("model", model.variables), ("opt", optimizer.variables)):
            saved = sorted((k for k in f.files if k.startswith(prefix + "_")), key=lambda k: int(k.split("_")[1]))
            if len(saved) != len(variables):
                raise BarlowError(f"checkpoint {path} holds {len(saved)} {prefix} variables, the model has "
                                  f"{len(variables)}: it belongs to another architecture.",
                                  "use a new --out folder, or the options that created this one")
            for key, var in zip(saved, variables):
                value = f[key]
                if tuple(value.shape) != tuple(var.shape):
                    raise BarlowError(f"checkpoint {path}: {var.path} has shape {value.shape}, model wants "
                                      f"{tuple(var.shape)}.", "use a new --out folder")
                var.assign(value)
        return json.loads(f["meta"].tobytes().decode())
