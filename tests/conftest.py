import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
from barlow_lib.hardware import enable_onednn  # noqa: E402  (the standard library only: TensorFlow not loaded)

enable_onednn()  # as importing barlow_lib does, whichever test module imports TensorFlow first

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(scope="session")
def synthetic_small():
    from barlow_lib import synthetic

    return synthetic.make(n_train=200, n_test=50, seed=1)


def value_and_grad(fn, *args):
    """Gradient of a scalar function of tensors, on whichever backend Keras runs."""
    import keras

    if keras.backend.backend() == "jax":
        import jax

        return jax.value_and_grad(fn, argnums=tuple(range(len(args))))(*args)
    import tensorflow as tf

    tensors = [tf.convert_to_tensor(a) for a in args]
    with tf.GradientTape() as tape:
        tape.watch(tensors)
        value = fn(*tensors)
    return value, tape.gradient(value, tensors)


def to_np(x):
    return np.asarray(x)
