"""LARS computes the paper's update (checked against NumPy), and a LARS run trains and resumes exactly."""
import numpy as np
import pytest

from barlow_lib import data, optimizer, recipes, train
from barlow_lib.backends import keras


def lars_reference(w, grads, lr, momentum, trust, decay):
    """The Barlow Twins paper's LARS in NumPy: decay into the gradient, trust ratio on tensors only."""
    w, m = w.copy(), np.zeros_like(w)
    for g in grads:
        if w.ndim > 1:
            g = g + decay * w
            g = g * trust * np.linalg.norm(w) / np.linalg.norm(g)
        m = momentum * m + g
        w = w - lr * m
    return w


@pytest.mark.core
@pytest.mark.parametrize("shape", [(3, 4), (5,)], ids=["weight tensor", "vector (bias, BN)"])
def test_lars_update_equals_the_papers_in_numpy(shape):
    rng = np.random.default_rng(0)
    w0 = rng.normal(size=shape).astype("float32")
    grads = [100 * rng.normal(size=shape).astype("float32") for _ in range(3)]  # large: the ratio must cap them
    var = keras.Variable(w0)
    opt = optimizer.LARS(learning_rate=0.1, momentum=0.9, trust_coefficient=0.02, weight_decay_rate=1e-2)
    for g in grads:
        opt.apply_gradients([(keras.ops.convert_to_tensor(g), var)])
    expected = lars_reference(w0, grads, 0.1, 0.9, 0.02, 1e-2)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(var), expected, rtol=1e-5, atol=1e-7)
    moved = np.linalg.norm(expected - w0) / np.linalg.norm(w0)
    if len(shape) > 1:  # the trust ratio caps three momentum steps at lr * trust * (1 + 1.9 + 2.71) of |w|
        assert moved < 0.1 * 0.02 * 5.61 * 1.05
    else:  # a vector takes the raw gradient's step
        assert moved > 1


@pytest.mark.core
def test_a_recipe_gets_the_optimizer_it_names():
    r = recipes.get("smoke")
    assert isinstance(optimizer.make_optimizer(r.replace(optimizer="lars", learning_rate=0.3), 10), optimizer.LARS)
    assert isinstance(optimizer.make_optimizer(r, 10), keras.optimizers.Lamb)


def test_a_lars_run_learns_and_resumes_exactly(tmp_path):
    ds = data.load("synthetic", limit=256)
    recipe = recipes.get("smoke").replace(epochs=3, batch_size=32, optimizer="lars", learning_rate=0.3)
    whole = train.train(recipe, ds, tmp_path / "whole", progress=False).history()["loss"]
    assert all(np.isfinite(whole)) and whole[-1] < whole[0]
    train.train(recipe, ds, tmp_path / "parts", progress=False, max_epochs=1)
    parts = train.train(recipe, ds, tmp_path / "parts", progress=False).history()["loss"]
    np.testing.assert_allclose(parts, whole, rtol=1e-5)
