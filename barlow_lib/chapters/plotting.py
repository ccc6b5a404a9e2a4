"""Figures the book draws more than once."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .. import augment, tables


def make_views(images: np.ndarray, config: augment.AugmentConfig, seed: int = 0, noise=None):
    """Two augmented views (float [0, 1] numpy) of uint8 images, from the noise of ``seed``."""
    if noise is None:
        noise = augment.draw_noise(np.random.default_rng(seed), len(images))
    a, b = augment.two_views(images, noise, config)
    return np.asarray(a), np.asarray(b)


def view_pairs(images: np.ndarray, config: augment.AugmentConfig, seed: int = 0, noise=None, views=None):
    """Rows: original, view A, view B; one column per image (``views``: already computed (A, B))."""
    a, b = views if views is not None else make_views(images, config, seed, noise)
    n = len(images)
    fig, axes = plt.subplots(3, n, figsize=(1.3 * n, 4.1), squeeze=False)
    for j in range(n):
        for i, (label, im) in enumerate((("original", images[j]), ("view A", a[j]), ("view B", b[j]))):
            axes[i, j].imshow(im)
            axes[i, j].set_xticks([]), axes[i, j].set_yticks([])
            if j == 0:
                axes[i, j].set_ylabel(label)
    fig.tight_layout()
    return fig


def image_row(images, titles=(), size: float = 1.6):
    fig, axes = plt.subplots(1, len(images), figsize=(size * len(images), size + 0.4), squeeze=False)
    for ax, im, title in zip(axes[0], images, list(titles) + [""] * len(images)):
        ax.imshow(np.clip(im, 0, 1) if np.asarray(im).dtype != np.uint8 else im)
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    return fig


def heatmaps(matrices: dict, vmin: float = -1.0, vmax: float = 1.0, cmap: str = "RdBu_r"):
    """Side-by-side heatmaps, e.g. cross-correlation matrices, on one colour scale."""
    fig, axes = plt.subplots(1, len(matrices), figsize=(3.6 * len(matrices), 3.3), squeeze=False)
    for ax, (title, m) in zip(axes[0], matrices.items()):
        im = ax.imshow(np.asarray(m), vmin=vmin, vmax=vmax, cmap=cmap)
        ax.set_title(title, fontsize=10)
    fig.colorbar(im, ax=axes[0].tolist(), shrink=0.8)
    return fig


def training_curves(history: dict, title: str = ""):
    """Loss per epoch and, where monitored, kNN accuracy per epoch."""
    knn = [(e, 100 * a) for e, a in zip(history["epoch"], history["knn_accuracy"]) if a is not None]  # in %
    fig, axes = plt.subplots(1, 2 if knn else 1, figsize=(10 if knn else 5, 3.4), squeeze=False)
    axes[0, 0].plot(history["epoch"], history["loss"], marker=".")
    axes[0, 0].set(xlabel="epoch", ylabel="Barlow Twins loss", title=title or "pretraining loss")
    if knn:
        axes[0, 1].plot(*zip(*knn), marker="o", color="tab:green")
        axes[0, 1].set(xlabel="epoch", ylabel="kNN accuracy (%)", title="kNN monitor (validation)")
    fig.tight_layout()
    return fig


def learning_rate_curve(rates: np.ndarray, steps_per_epoch: int, recipe):
    """A recipe's learning rate against the epoch (steps / steps per epoch), its warmup shaded."""
    fig, ax = plt.subplots(figsize=(6, 2.6))
    epochs = np.arange(len(rates)) / steps_per_epoch
    ax.plot(epochs, rates)
    if recipe.warmup_epochs:
        ax.axvspan(0, recipe.warmup_epochs, color="0.9", label=f"warmup ({recipe.warmup_epochs} epoch(s))")
        ax.legend(fontsize=8)
    ax.set(xlabel="epoch", ylabel="learning rate", title=f"{recipe.name}: {recipe.schedule} schedule, peak "
           f"{recipe.learning_rate:g}")
    fig.tight_layout()
    return fig


def confusion(matrix: np.ndarray, classes):
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(classes)), classes, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(classes)), classes, fontsize=8)
    for (i, j), v in np.ndenumerate(matrix):
        ax.text(j, i, str(v), ha="center", va="center", fontsize=7, color="white" if v > matrix.max() / 2 else "black")
    ax.set(xlabel="predicted", ylabel="true")
    fig.tight_layout()
    return fig


def table(rows: list[dict], digits: int = 3):
    """A list of dicts as a Markdown table (renders in Jupyter, Colab and the book)."""
    from IPython.display import Markdown

    return Markdown(tables.markdown(rows, digits))
