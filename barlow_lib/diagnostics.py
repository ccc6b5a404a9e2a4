"""What training does to the embedding, measured cheaply on one fixed batch at a few epochs.

At epoch 0 (random initialisation), 1, 2, 4, 8, ... and the last, training measures a fixed batch of
evaluation images with fixed augmentation noise: the cross-correlation matrix c of its two views' embeddings
(its top-left corner, and the loss terms of the whole matrix) and the singular-value spectra of the
backbone features and of the embeddings. ``effective_rank`` turns a spectrum into one number: how many
dimensions the representation really uses (a collapsed one uses few).
"""
from __future__ import annotations

import numpy as np

from . import augment, evaluate, loss, models

BATCH = 512  # images in the fixed batch
CORNER = 64  # c is kept as its top-left CORNER x CORNER block (c of the keras-io projector is 5000 x 5000)


def snapshot_epochs(epochs: int) -> list[int]:
    """0 (before training), the powers of two, and the last epoch."""
    return sorted({0, epochs} | {2**k for k in range(epochs.bit_length()) if 2**k <= epochs})


def fixed_batch(ds, n: int = BATCH, seed: int = 0):
    """The same images and augmentation noise at every snapshot: evaluation images if there are any."""
    pool = ds.x_eval if ds.x_eval is not None else ds.x_train
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.permutation(len(pool))[: min(n, len(pool))])
    return pool[idx], augment.draw_noise(rng, len(idx))


def singular_values(features: np.ndarray) -> np.ndarray:
    """Singular values of the centred (N, D) features, largest first."""
    f = np.asarray(features, np.float64)
    return np.linalg.svd(f - f.mean(0), compute_uv=False)


def effective_rank(s: np.ndarray) -> float:
    """exp of the entropy of the normalised singular values (Roy and Vetterli, 2007): from 1 to len(s)."""
    p = np.asarray(s, np.float64)
    p = p[p > 0] / p.sum()
    return float(np.exp(-(p * np.log(p)).sum()))


def training_embeddings(twin, images: np.ndarray, noise: np.ndarray, config) -> tuple[np.ndarray, np.ndarray]:
    """The two views' embeddings as the loss sees them: BatchNorm on this batch's statistics (training mode).

    (In inference mode an untrained network's BatchNorm uses its initial moving statistics, and its
    embeddings shrink layer by layer to a scale where standardising them mostly divides noise by epsilon.)
    The moving statistics that training mode updates are put back, so measuring never changes the run.
    """
    saved = [v.numpy().copy() for v in twin.non_trainable_variables]
    view_a, view_b = augment.two_views(images, noise, config)
    z_a = np.asarray(twin.embed(view_a, training=True), np.float32)
    z_b = np.asarray(twin.embed(view_b, training=True), np.float32)
    for v, value in zip(twin.non_trainable_variables, saved):
        v.assign(value)
    return z_a, z_b


def measure(twin, images: np.ndarray, noise: np.ndarray, recipe, lambd: float) -> dict:
    """One snapshot of a twin on a fixed batch: c's corner and terms (as the loss sees them), and the spectra
    of the embeddings and of the backbone features (as evaluation sees them, in inference mode)."""
    z_a, z_b = training_embeddings(twin, images, noise, recipe.augment)
    c = np.asarray(loss.cross_correlation(z_a, z_b))
    terms = {k: float(v) for k, v in loss.loss_terms(c, lambd).items()}
    backbone = models.at_size(twin.backbone, recipe.model, images.shape[1])
    s_features = singular_values(evaluate.extract_features(backbone, images))
    s_embedding = singular_values(z_a)
    return {"c_corner": c[:CORNER, :CORNER].astype(np.float16), "diagonal_mean": float(np.mean(np.diag(c))),
            "off_diagonal_rms": float(np.sqrt(terms["off_diag"] / max(1, c.shape[0] * (c.shape[0] - 1)))),
            **terms, "singular_values_features": s_features.astype(np.float32),
            "singular_values_embedding": s_embedding.astype(np.float32),
            "effective_rank_features": effective_rank(s_features),
            "effective_rank_embedding": effective_rank(s_embedding), "embedding_dim": int(c.shape[0])}
