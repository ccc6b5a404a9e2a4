"""A procedurally generated 10-class, 32x32 RGB dataset for offline tests and demos.

Class = shape (disk, square, triangle, ring, cross) x texture (solid, striped).
Colours, position, size, rotation and background are random and shared by all
classes, so colour says nothing about the class: a network has to learn shape
and texture, the kind of invariance Barlow Twins is meant to find.
"""
from __future__ import annotations

import numpy as np

SHAPES = ("disk", "square", "triangle", "ring", "cross")
TEXTURES = ("solid", "striped")
CLASSES = tuple(f"{s}-{t}" for t in TEXTURES for s in SHAPES)
ABOUT = ("Generated, not photographs: 10 classes, each a shape (disk, square, triangle, ring, cross) that is solid "
         "or striped, in random colours on a random background.")


def _shape_mask(shape: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    r = np.sqrt(u**2 + v**2)
    if shape == "disk":
        return r < 1.0
    if shape == "square":
        return np.maximum(np.abs(u), np.abs(v)) < 0.8
    if shape == "triangle":
        return (v > -0.7) & (np.abs(u) < 0.55 * (0.9 - v))
    if shape == "ring":
        return (r < 1.0) & (r > 0.55)
    return ((np.abs(u) < 0.3) & (np.abs(v) < 1.0)) | ((np.abs(v) < 0.3) & (np.abs(u) < 1.0))


def make_images(labels: np.ndarray, rng: np.random.Generator, size: int = 32) -> np.ndarray:
    """Draw one uint8 (n, size, size, 3) image per label."""
    n = len(labels)
    grid = (np.arange(size) + 0.5) / size * 2.0 - 1.0
    yy, xx = np.meshgrid(grid, grid, indexing="ij")
    cx, cy = rng.uniform(-0.3, 0.3, (2, n, 1, 1))
    scale = rng.uniform(0.55, 0.8, (n, 1, 1))
    angle = rng.uniform(-0.3, 0.3, (n, 1, 1))  # nearly upright: rotation is not one of the augmentations
    dx, dy = (xx - cx) / scale, (yy - cy) / scale
    u = np.cos(angle) * dx + np.sin(angle) * dy
    v = -np.sin(angle) * dx + np.cos(angle) * dy
    shapes = np.asarray(labels) % len(SHAPES)
    mask = np.zeros((n, size, size), bool)
    for k, shape in enumerate(SHAPES):
        mask[shapes == k] = _shape_mask(shape, u[shapes == k], v[shapes == k])
    striped = (np.asarray(labels) // len(SHAPES)) == 1
    freq = rng.uniform(2.5, 4.0, (n, 1, 1))
    stripes = np.sin(freq * np.pi * (u + v)) > 0
    # Random colours, but the shape always stands out from its background: bright on dark or dark on bright.
    bright = rng.uniform(0.55, 1.0, (n, 1, 1, 3))
    dark = rng.uniform(0.0, 0.45, (n, 1, 1, 3))
    swap = rng.random((n, 1, 1, 1)) < 0.5
    fg, bg = np.where(swap, dark, bright), np.where(swap, bright, dark)
    fg2 = np.where(striped[:, None, None, None], 1.0 - fg, fg)  # stripes alternate fg and its complement
    fill = np.where(stripes[..., None], fg, fg2)
    background = bg + rng.normal(0, 0.04, (n, size, size, 3))
    img = np.where(mask[..., None], fill, background) + rng.normal(0, 0.03, (n, size, size, 3))
    return np.clip(img * 255.0, 0, 255).astype(np.uint8)


def make(n_train: int = 2000, n_test: int = 500, seed: int = 0, size: int = 32):
    """Balanced train and test splits: ((x_train, y_train), (x_test, y_test))."""
    rng = np.random.default_rng(seed)
    y_train = np.arange(n_train) % len(CLASSES)
    y_test = np.arange(n_test) % len(CLASSES)
    rng.shuffle(y_train)
    return (make_images(y_train, rng, size), y_train), (make_images(y_test, rng, size), y_test)
