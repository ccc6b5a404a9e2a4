"""Seeding a piece of work without touching the caller's random state.

``keras.utils.set_random_seed`` seeds Python, NumPy, the backend and Keras' global seed generator for the
whole process: called in the middle of a notebook, it silently replays every "random" draw after it.
:func:`seeded` seeds the same generators for one block and then puts each back as it was.
"""
from __future__ import annotations

import contextlib
import copy
import random

import numpy as np


@contextlib.contextmanager
def seeded(seed: int):
    """Inside: ``keras.utils.set_random_seed(seed)``. After: Python's, NumPy's, Keras' and (on TensorFlow)
    the eager context's random state as they were before."""
    from .backends import keras  # first: the backend check runs before Keras loads

    from keras.src.backend.common import global_state
    from keras.src.random import seed_generator
    from keras.src.utils import rng_utils

    py_state, np_state = random.getstate(), np.random.get_state()
    keras_state = {k: global_state.get_global_attribute(k)
                   for k in (rng_utils.GLOBAL_RANDOM_SEED, seed_generator.GLOBAL_SEED_GENERATOR)}
    tf_context = _tf_context() if keras.backend.backend() == "tensorflow" else None
    tf_state = (tf_context._seed, copy.deepcopy(tf_context._rng)) if tf_context is not None else None
    try:
        keras.utils.set_random_seed(seed)
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
        for key, value in keras_state.items():
            global_state.set_global_attribute(key, value)
        if tf_state is not None:
            tf_context._seed, tf_context._rng = tf_state


def _tf_context():
    """TensorFlow's eager context, whose global seed and op-seed generator ``tf.random.set_seed`` replaces."""
    try:
        from tensorflow.python.eager import context

        ctx = context.context()
        return ctx if hasattr(ctx, "_seed") and hasattr(ctx, "_rng") else None
    except ImportError:
        return None
