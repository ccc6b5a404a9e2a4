"""An epoch of training steps queued back to back, its losses read every few steps rather than after each one.

``Model.train_on_batch`` turns every step's loss into a Python number. On an accelerator that is a round trip
from the device to the host per step: the host waits for the step to finish before it queues the next, and
the device idles while it does. On JAX it also writes every weight back into the model's variables after
each step. Here one epoch's images and noise go to the device once, the steps are queued without waiting,
their losses stay on the device and are read ``READ_EVERY`` steps at a time (where a loss that is not a
number is caught and named by its own step), and on JAX the weights travel through the epoch as one state,
written back into the model once, at its end. The first step of an epoch still goes through
``train_on_batch``, so Keras builds and compiles whatever it needs as it always does.

The losses, and the weights after the epoch, are exactly those of ``train_on_batch`` called step by step
(tests/test_core_train.py, on both backends).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .backends import keras, ops

READ_EVERY = 20  # steps between two reads of the losses: one host round trip per READ_EVERY steps


def run_epoch(twin, inputs: dict, batch_size: int, on_read: Callable[[int, np.ndarray], None]) -> list[float]:
    """Train ``twin`` on the epoch's batches of ``inputs`` (arrays of equal length, the remainder dropped);
    return every step's loss. ``on_read(first_step, losses)`` sees each group of losses as it is read (first
    step counted from 0): it may raise, e.g. on a loss that is not a number, before more steps are queued."""
    steps = len(inputs["images"]) // batch_size
    if steps == 0:
        return []
    first = {k: v[:batch_size] for k, v in inputs.items()}
    twin.reset_metrics()  # Keras 3.14's train_on_batch reports a running mean across calls otherwise
    losses = [float(twin.train_on_batch(first, return_dict=True)["loss"])]
    on_read(0, np.array(losses))
    if steps == 1:
        return losses
    queue = _JaxSteps(twin) if keras.backend.backend() == "jax" else _TensorFlowSteps(twin)
    on_device = _on_device(inputs)
    pending = []
    try:
        for i in range(1, steps):
            pending.append(queue.step({k: v[i * batch_size:(i + 1) * batch_size] for k, v in on_device.items()}))
            if len(pending) == READ_EVERY or i == steps - 1:
                values = np.asarray(ops.convert_to_numpy(ops.stack(pending)))
                on_read(i - len(pending) + 1, values)
                losses.extend(float(v) for v in values)
                pending = []
    finally:
        queue.close()
    return losses


def _on_device(inputs: dict) -> dict:
    """The epoch's arrays on the device, copied once; left on the host for several devices, which take each
    batch split over them as ``train_on_batch`` gives it."""
    if keras.backend.backend() == "jax":
        return inputs if keras.distribution.distribution() is not None else {
            k: ops.convert_to_tensor(v) for k, v in inputs.items()}
    import tensorflow as tf

    if tf.distribute.has_strategy() or not tf.config.list_logical_devices("GPU"):
        return inputs  # a CPU's tensors are its arrays: nothing to copy
    with tf.device("/GPU:0"):
        return {k: tf.identity(v) for k, v in inputs.items()}


class _TensorFlowSteps:
    """TensorFlow: the compiled step ``train_on_batch`` calls, without turning its logs into Python numbers."""

    def __init__(self, twin):
        self.twin = twin

    def step(self, batch):
        self.twin.reset_metrics()  # the logged loss is then this step's, not a running mean
        return self.twin.train_function(iter([(batch, None, None)]))["loss"]

    def close(self):
        pass


class _JaxSteps:
    """JAX: the model's variables as one state threaded through the compiled steps, written back by ``close``."""

    def __init__(self, twin):
        self.twin = twin
        twin.reset_metrics()
        twin.make_train_function()
        state = twin._get_jax_state(trainable_variables=True, non_trainable_variables=True,
                                    optimizer_variables=True, metrics_variables=True, purge_model_variables=True)
        self.weights, self.fresh_metrics = state[:3], [np.asarray(v) for v in state[3]]
        self.metrics = state[3]
        twin._jax_state_synced = False

    def step(self, batch):
        from keras.src.backend.jax.trainer import _distribute_data  # shards a batch as train_on_batch does

        metrics = [np.array(v) for v in self.fresh_metrics]  # reset for each step; the state is donated
        if keras.distribution.distribution() is not None:
            batch = _distribute_data(batch)
        logs, state = self.twin.train_function((*self.weights, metrics), iter([(batch, None, None)]))
        self.weights, self.metrics = state[:3], state[3]
        return logs["loss"]

    def close(self):
        trainable, non_trainable, optimizer = self.weights
        self.twin._jax_state = {"trainable_variables": trainable, "non_trainable_variables": non_trainable,
                                "optimizer_variables": optimizer, "metrics_variables": self.metrics}
        self.twin.jax_state_sync()
