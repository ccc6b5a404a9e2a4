"""batchnorm.BatchNormalization computes what Keras' layer computes, through TensorFlow's fused kernel."""
import subprocess
import sys

import numpy as np
import pytest

from barlow_lib import batchnorm
from barlow_lib.backends import keras

on_tensorflow = pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="the fused kernel is TensorFlow's")


def _pair(shape, dtype=None, **kwargs):
    ours, theirs = (cls(momentum=0.9, dtype=dtype, **kwargs)
                    for cls in (batchnorm.BatchNormalization, keras.layers.BatchNormalization))
    for layer in (ours, theirs):
        layer.build(shape)
    rng = np.random.default_rng(0)
    gamma, beta = rng.uniform(0.5, 2, shape[-1]).astype("float32"), rng.normal(0, 1, shape[-1]).astype("float32")
    for layer in (ours, theirs):
        layer.gamma.assign(gamma)
        layer.beta.assign(beta)
    return ours, theirs


@on_tensorflow
@pytest.mark.parametrize("shape", [(32, 6, 6, 5), (64, 7)])  # the backbone's maps and the projector's vectors
def test_training_outputs_gradients_and_moving_statistics_match_keras(shape):
    import tensorflow as tf

    ours, theirs = _pair(shape)
    assert ours._fused_applies(np.zeros(shape), None)  # the fused path is the one tested here
    x = tf.constant(np.random.default_rng(1).normal(3, 2, shape).astype("float32"))
    results = []
    for layer in (ours, theirs):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
            value = tf.reduce_sum(y * tf.sin(y))  # any loss whose gradient is not uniform
        results.append((y, tape.gradient(value, [x, layer.gamma, layer.beta])))
    (y1, g1), (y2, g2) = results
    np.testing.assert_allclose(y1, y2, atol=2e-5)
    for a, b in zip(g1, g2):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(ours.moving_mean, theirs.moving_mean, atol=1e-5)
    np.testing.assert_allclose(ours.moving_variance, theirs.moving_variance, rtol=1e-5)  # biased, as Keras
    assert not np.allclose(ours.moving_mean, 0.0)  # the statistics moved


@on_tensorflow
def test_inference_uses_the_moving_statistics_as_keras_does():
    ours, theirs = _pair((8, 4, 4, 3))
    for layer in (ours, theirs):
        layer.moving_mean.assign([1.0, -2.0, 0.5])
        layer.moving_variance.assign([4.0, 0.25, 1.0])
    x = np.random.default_rng(2).normal(0, 3, (8, 4, 4, 3)).astype("float32")
    np.testing.assert_allclose(ours(x, training=False), theirs(x, training=False), atol=1e-5)


@on_tensorflow
def test_bfloat16_layers_keep_their_statistics_in_float32_and_answer_in_bfloat16():
    ours, theirs = _pair((16, 4, 4, 3), dtype="mixed_bfloat16")
    x = np.random.default_rng(3).normal(0, 1, (16, 4, 4, 3)).astype("float32")
    y1, y2 = ours(x, training=True), theirs(x, training=True)
    assert str(y1.dtype) == str(y2.dtype) == "<dtype: 'bfloat16'>"
    np.testing.assert_allclose(np.float32(y1), np.float32(y2), atol=0.05)


@on_tensorflow
def test_what_the_kernel_does_not_cover_runs_keras_code():
    layer = batchnorm.BatchNormalization(axis=1)
    assert not layer._fused_applies(np.zeros((2, 3, 4, 5)), None)  # channels first
    assert not batchnorm.BatchNormalization(synchronized=True)._fused_applies(np.zeros((2, 3, 4, 5)), None)
    assert not batchnorm.BatchNormalization()._fused_applies(np.zeros((2, 3, 5)), None)  # rank 3


@on_tensorflow
def test_a_network_saved_as_runs_save_it_loads_in_a_process_that_never_imported_barlow_lib(tmp_path):
    from barlow_lib import models, recipes

    backbone = models.build_backbone(recipes.get("smoke").model, 16)
    backbone.get_layer("stem_bn").moving_mean.assign(np.linspace(-1, 1, 8))  # weights that are not the defaults
    path = tmp_path / "backbone.keras"
    batchnorm.portable(backbone).save(path)
    x = np.random.default_rng(4).random((2, 16, 16, 3)).astype("float32")
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", np.asarray(backbone(x, training=False)))
    code = (f"import numpy as np, keras; m = keras.models.load_model({str(path)!r}); "
            f"x = np.load({str(tmp_path / 'x.npy')!r}); "
            f"np.testing.assert_allclose(m(x, training=False), np.load({str(tmp_path / 'y.npy')!r}), atol=1e-5); "
            "import sys; assert 'barlow_lib' not in sys.modules, 'loading imported barlow_lib'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.core
def test_the_layer_computes_what_keras_computes_on_every_backend():
    """On JAX the layer is Keras' own code (the core suite runs this there too)."""
    ours, theirs = _pair((8, 4, 4, 3))
    x = np.random.default_rng(5).normal(1, 2, (8, 4, 4, 3)).astype("float32")
    np.testing.assert_allclose(ours(x, training=True), theirs(x, training=True), atol=2e-5)
    np.testing.assert_allclose(ours.moving_variance, theirs.moving_variance, rtol=1e-5)
    assert ours._fused_applies(x, None) == (keras.backend.backend() == "tensorflow")
