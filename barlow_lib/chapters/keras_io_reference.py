"""The keras-io example's augmentation logic, defects included, so the book can show each defect next to its fix.

These are faithful NumPy re-statements of what the keras-io example's code
*does* (not what its comments say). They are for demonstration and tests; the
library's pipeline is ``barlow_lib.augment``.
"""
from __future__ import annotations

import numpy as np


def solarize(x01: np.ndarray) -> np.ndarray:
    """keras-io: ``tf.where(x < 10, x, 255 - x)`` on images already scaled to [0, 1]: every pixel is < 10."""
    return np.where(x01 < 10, x01, 255 - x01)


def flip_fires(rng: np.random.Generator, n: int) -> np.ndarray:
    """keras-io: a 50% gate, then ``random_flip_left_right`` (another 50%): 25% of images are flipped."""
    return (rng.random(n) < 0.5) & (rng.random(n) < 0.5)


def crop_sides(rng: np.random.Generator, n: int, image_size: int = 32) -> np.ndarray:
    """keras-io: ``tf.random.uniform(minval=int(0.75 * 32), maxval=32, dtype=int32)``: maxval is exclusive."""
    return rng.integers(int(0.75 * image_size), image_size, n)  # 24..31, never 32


def blur_sigmas(steps: int, trace_seed: int = 0) -> np.ndarray:
    """keras-io: ``np.random.random()`` inside a ``tf.function`` runs once, when the graph is traced.

    Every later step reuses that one Python float: the same sigma for the whole run.
    """
    frozen = np.random.default_rng(trace_seed).random()
    return np.full(steps, frozen)


FROZEN_SIGMA = round(float(blur_sigmas(1)[0]), 3)  # the sigma the traced graph froze, as chapter 2 prints it


def standardise_without_epsilon(z: np.ndarray) -> np.ndarray:
    """keras-io: ``(z - mean) / std`` with no epsilon: a constant feature gives 0 / 0 = NaN."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return (z - z.mean(0)) / z.std(0)


def published_log() -> dict:
    """The keras-io example's own printed 160-epoch loss log and probe accuracy, with their source."""
    import json
    from pathlib import Path

    return json.loads((Path(__file__).parent / "keras_io_log.json").read_text())
