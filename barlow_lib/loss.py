"""The Barlow Twins loss (Zbontar et al., 2021), in one screen.

    c_ij = sum_b  za_bi * zb_bj / N        (za, zb standardised per feature over the batch)
    loss = sum_i (1 - c_ii)^2  +  lambda * sum_{i != j} c_ij^2

Everything is computed in float32, whatever precision the network ran in.
Across several devices, pass the *global* batch (see ``distribute.gather``). ``vicreg_loss`` is the
alternative a recipe can choose (``Recipe.loss``): the same two embeddings, three other terms.
"""
from __future__ import annotations

from .backends import ops

EPSILON = 1e-5


def standardize(z, epsilon: float = EPSILON):
    """Zero mean, unit variance per feature over the batch; a constant feature becomes 0."""
    z = ops.cast(z, "float32")
    mean = ops.mean(z, axis=0, keepdims=True)
    var = ops.var(z, axis=0, keepdims=True)
    return (z - mean) / ops.sqrt(var + epsilon)


def cross_correlation(z_a, z_b, epsilon: float = EPSILON):
    """The D x D matrix c of the two views' standardised embeddings."""
    n = ops.cast(ops.shape(z_a)[0], "float32")
    return ops.matmul(ops.transpose(standardize(z_a, epsilon)), standardize(z_b, epsilon)) / n


def loss_terms(c, lambd: float = 0.005) -> dict:
    """The invariance (on-diagonal) and redundancy (off-diagonal) terms of c."""
    diag = ops.diagonal(c)
    on_diag = ops.sum(ops.square(1.0 - diag))
    off_diag = ops.sum(ops.square(c)) - ops.sum(ops.square(diag))
    return {"on_diag": on_diag, "off_diag": off_diag, "loss": on_diag + lambd * off_diag}


def barlow_twins_loss(z_a, z_b, lambd: float = 0.005, epsilon: float = EPSILON):
    """Scalar Barlow Twins loss of two (batch, D) embeddings of the same images."""
    return loss_terms(cross_correlation(z_a, z_b, epsilon), lambd)["loss"]


def vicreg_loss(z_a, z_b, invariance: float = 25.0, variance: float = 25.0, covariance: float = 1.0):
    """VICReg (Bardes et al., 2022): views close (mean squared error), every feature's standard deviation over
    the batch at least 1 (a hinge), and each view's features decorrelated (off-diagonal covariance)."""
    z_a, z_b = ops.cast(z_a, "float32"), ops.cast(z_b, "float32")
    n, d = ops.cast(ops.shape(z_a)[0], "float32"), ops.cast(ops.shape(z_a)[1], "float32")
    terms = ops.mean(ops.square(z_a - z_b)) * invariance
    for z in (z_a, z_b):
        z = z - ops.mean(z, axis=0, keepdims=True)
        terms += variance / 2 * ops.mean(ops.relu(1.0 - ops.sqrt(ops.var(z, axis=0) + 1e-4)))
        cov = ops.matmul(ops.transpose(z), z) / (n - 1.0)
        terms += covariance * (ops.sum(ops.square(cov)) - ops.sum(ops.square(ops.diagonal(cov)))) / d
    return terms
