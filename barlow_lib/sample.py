"""The CIFAR-10 sample shipped with the library: 5,000 training and 1,000 evaluation images.

Origin, selection and citation: ``sample_data/README.md``. The evaluation images are CIFAR-10 *training*
images held out from the sample's training part, so the split is reported as ``val-from-train``.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np

FOLDER = Path(__file__).parent / "sample_data"
TRAIN_FILES = ("cifar10-train-0.npz", "cifar10-train-1.npz")
EVAL_FILE = "cifar10-eval.npz"
ABOUT = ("6,000 CIFAR-10 training images shipped with barlow_lib (Krizhevsky, 2009; JPEG copy), for machines "
         "that cannot download CIFAR-10.")


def _read(name: str) -> tuple[np.ndarray, np.ndarray]:
    from PIL import Image

    with np.load(FOLDER / name, allow_pickle=False) as f:
        blob, offsets, labels = f["jpeg"].tobytes(), f["offsets"], f["labels"].astype(np.int64)
    images = [np.asarray(Image.open(io.BytesIO(blob[a:b])).convert("RGB")) for a, b in zip(offsets[:-1], offsets[1:])]
    return np.stack(images), labels


def load() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """((x_train, y_train), (x_eval, y_eval)): uint8 images and labels 0..9 in CIFAR-10's class order."""
    parts = [_read(name) for name in TRAIN_FILES]
    x, y = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    return (x, y), _read(EVAL_FILE)
