"""The loss against an independent float64 NumPy reference, and its invariances."""
import numpy as np
import pytest

from barlow_lib import loss
from conftest import to_np, value_and_grad

pytestmark = pytest.mark.core


def reference_loss(za, zb, lambd, eps=0.0):
    za, zb = np.asarray(za, np.float64), np.asarray(zb, np.float64)
    na = (za - za.mean(0)) / np.sqrt(za.var(0) + eps)
    nb = (zb - zb.mean(0)) / np.sqrt(zb.var(0) + eps)
    c = na.T @ nb / len(za)
    on = sum((1 - c[i, i]) ** 2 for i in range(len(c)))
    off = sum(c[i, j] ** 2 for i in range(len(c)) for j in range(len(c)) if i != j)
    return on + lambd * off, c


@pytest.mark.parametrize("n,d,lambd", [(16, 8, 0.005), (64, 32, 0.0051), (33, 50, 0.1)])
def test_matches_float64_reference(n, d, lambd):
    rng = np.random.default_rng(n * d)
    za = rng.normal(size=(n, d)).astype(np.float32) * rng.uniform(0.5, 3, d).astype(np.float32)
    zb = (za + rng.normal(scale=0.7, size=(n, d))).astype(np.float32)
    want, c_want = reference_loss(za, zb, lambd, eps=loss.EPSILON)
    got = float(loss.barlow_twins_loss(za, zb, lambd))
    assert abs(got - want) / abs(want) < 1e-5
    np.testing.assert_allclose(to_np(loss.cross_correlation(za, zb)), c_want, atol=1e-5)
    # ... and, without the epsilon, the textbook formula itself
    assert abs(float(loss.barlow_twins_loss(za, zb, lambd, epsilon=0.0)) - reference_loss(za, zb, lambd)[0]) < 1e-3


def test_identical_views_of_decorrelated_features_give_zero_loss():
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(64, 8)))  # orthonormal, zero-mean-ish columns
    z = (q - q.mean(0)).astype(np.float32)
    assert float(loss.barlow_twins_loss(z, z, 0.005)) < 0.05


def test_constant_feature_gives_finite_loss_and_gradients():
    rng = np.random.default_rng(1)
    za = rng.normal(size=(32, 6)).astype(np.float32)
    zb = rng.normal(size=(32, 6)).astype(np.float32)
    za[:, 2] = 3.0  # a dead feature: zero variance over the batch
    value, grads = value_and_grad(lambda a, b: loss.barlow_twins_loss(a, b), za, zb)
    assert np.isfinite(float(value))
    assert all(np.all(np.isfinite(to_np(g))) for g in grads)


def test_positive_affine_rescaling_per_feature_changes_nothing():
    rng = np.random.default_rng(2)
    za = rng.normal(size=(128, 10)).astype(np.float32)
    zb = (za + rng.normal(size=(128, 10))).astype(np.float32)
    scale = rng.uniform(0.5, 20, 10).astype(np.float32)
    shift = rng.normal(scale=5, size=10).astype(np.float32)
    before = float(loss.barlow_twins_loss(za, zb))
    after = float(loss.barlow_twins_loss(za * scale + shift, zb))
    assert abs(after - before) / before < 1e-4


def test_terms_add_up_and_lambda_weighs_only_the_off_diagonal():
    rng = np.random.default_rng(3)
    za, zb = rng.normal(size=(2, 40, 12)).astype(np.float32)
    c = loss.cross_correlation(za, zb)
    t1, t2 = loss.loss_terms(c, 0.0), loss.loss_terms(c, 1.0)
    assert float(t1["loss"]) == pytest.approx(float(t1["on_diag"]))
    assert float(t2["loss"]) == pytest.approx(float(t2["on_diag"]) + float(t2["off_diag"]), rel=1e-6)


def vicreg_numpy(a, b):
    """VICReg's loss as its paper's pseudo-code writes it (Bardes et al., 2022, Algorithm 1)."""
    n, d = a.shape
    inv = np.mean((a - b) ** 2)
    a, b = a - a.mean(0), b - b.mean(0)
    std = sum(np.mean(np.maximum(0, 1 - np.sqrt(z.var(0) + 1e-4))) for z in (a, b)) / 2
    cov = sum(((z.T @ z / (n - 1)) ** 2).sum() - (np.diag(z.T @ z / (n - 1)) ** 2).sum() for z in (a, b)) / d
    return 25 * inv + 25 * std + cov


def test_vicreg_matches_its_papers_pseudo_code_and_punishes_collapse():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(64, 16)).astype(np.float32)
    b = (a + 0.3 * rng.normal(size=a.shape)).astype(np.float32)
    np.testing.assert_allclose(float(loss.vicreg_loss(a, b)), vicreg_numpy(a, b), rtol=1e-4)
    collapsed = np.ones((64, 16), np.float32)
    assert float(loss.vicreg_loss(collapsed, collapsed)) == pytest.approx(25 * (1 - 0.01), rel=1e-3)
    assert float(loss.vicreg_loss(a, a)) < 0.1 * float(loss.vicreg_loss(collapsed, collapsed))  # little to pay
