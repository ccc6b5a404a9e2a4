"""Several devices, one global batch.

Barlow Twins needs statistics of the *whole* batch: the per-feature mean and
variance and the cross-correlation c. Two engines do this differently:

* JAX (``keras.distribution.DataParallel``): the step is one SPMD program over
  a sharded batch; every op already means the global batch. Nothing to do.
* TensorFlow (``tf.distribute.MirroredStrategy``): each replica runs the step
  on its shard. We all-gather the embeddings (TF's ``all_gather`` is
  differentiable: its gradient sums over replicas and keeps the local slice),
  compute the global loss on every replica, divide it by the number of
  replicas, and let the optimizer sum the replicas' gradients. Forward and
  gradient then equal the single-device full batch. (The classic bug is an all-reduce whose gradient
  does not flow, leaving gradients 1/world_size too small: lightly's issue 1977.)
"""
from __future__ import annotations

import contextlib

from .backends import keras
from .errors import BarlowError


def _tf():
    import tensorflow as tf

    return tf


def num_replicas() -> int:
    if keras.backend.backend() != "tensorflow":
        return 1
    return _tf().distribute.get_strategy().num_replicas_in_sync


def gather(z):
    """Concatenate every replica's rows of ``z`` (TF); identity elsewhere."""
    if num_replicas() == 1:
        return z
    ctx = _tf().distribute.get_replica_context()
    return ctx.all_gather(z, axis=0) if ctx is not None else z


def scale_loss(loss):
    """Divide by the replica count, because the optimizer sums replica gradients."""
    n = num_replicas()
    return loss / n if n > 1 else loss


def device_names(n: int) -> list[str]:
    """The first ``n`` accelerators, or CPUs when there are none."""
    if keras.backend.backend() == "jax":
        import jax

        devices = jax.devices()
        names = [str(d) for d in devices]
    else:
        tf = _tf()
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        names = [d.name for d in devices]
    if n > len(names):
        raise BarlowError(f"`devices` {n} asks for more devices than are visible ({len(names)}: {', '.join(names)}).",
                          f"use `devices` {len(names)} or fewer")
    return names[:n]


def check_devices(n, recipe) -> int:
    """Refuse a device count that cannot split the recipe's batch evenly."""
    if not isinstance(n, int) or n < 1:
        raise BarlowError(f"`devices` {n!r}: training needs 1 or more devices.", "use `devices` 1 (or more)")
    if recipe.batch_size % n:
        raise BarlowError(f"`batch_size` {recipe.batch_size} does not split evenly over `devices` {n}.",
                          f"use a `batch_size` that is a multiple of {n}")
    return n


def needs_sync_bn(n: int) -> bool:
    """TensorFlow replicas need synchronised BatchNorm for global-batch statistics; JAX's SPMD step has them."""
    return n > 1 and keras.backend.backend() == "tensorflow"


@contextlib.contextmanager
def device_scope(n: int = 1):
    """Build and train inside this to spread each batch over ``n`` devices."""
    if n <= 1:
        yield None
        return
    names = device_names(n)
    if keras.backend.backend() == "jax":
        import jax

        previous = keras.distribution.distribution()
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=jax.devices()[:n]))
        try:
            yield names
        finally:
            keras.distribution.set_distribution(previous)
    else:
        strategy = _tf().distribute.MirroredStrategy(names)
        with strategy.scope():
            yield names
