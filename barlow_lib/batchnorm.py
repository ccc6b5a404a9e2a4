"""Batch normalisation: Keras' layer, run through TensorFlow's fused kernel where that kernel applies.

Keras 3's ``BatchNormalization`` computes the batch's moments and the normalisation as separate operations
(``ops.moments``, then ``ops.batch_normalization``), and the backward pass differentiates each one. TensorFlow
has one fused kernel for the whole of it, forward and backward. On the `cpu` recipe's narrow network, where a
convolution is cheap beside the element-wise work around it, the fused kernel makes a training step much
faster (``bench/cpu_profile.py`` measures both side by side). The layer, its weights, its configuration and
what it computes are Keras' own: the moving averages are updated with the same (biased) batch variance, and
every other backend, and every case the kernel does not cover, runs Keras' code unchanged.
"""
from __future__ import annotations

from .backends import keras


@keras.saving.register_keras_serializable(package="barlow_lib")
class BatchNormalization(keras.layers.BatchNormalization):
    """``keras.layers.BatchNormalization`` with TensorFlow's fused kernel for channels-last inputs of rank 2
    (the projector's, normalised as (N, 1, 1, C) images) or 4 (the backbone's)."""

    def _fused_applies(self, inputs, mask) -> bool:
        rank = len(inputs.shape)
        return (keras.backend.backend() == "tensorflow" and mask is None and not self.synchronized
                and not self.renorm and rank in (2, 4) and self.axis in (-1, rank - 1) and self.epsilon > 1.001e-5)

    def call(self, inputs, training=None, mask=None):
        if not self._fused_applies(inputs, mask):
            return super().call(inputs, training=training, mask=mask)
        import tensorflow as tf

        x = tf.cast(inputs, "float32")  # as Keras does: the statistics in float32 whatever the layer's dtype
        channels, flat = x.shape[-1], len(inputs.shape) == 2
        if flat:
            x = x[:, None, None, :]
        gamma = tf.cast(self.gamma, "float32") if self.scale else tf.ones((channels,))
        beta = tf.cast(self.beta, "float32") if self.center else tf.zeros((channels,))
        if training and self.trainable:
            y, mean, variance = tf.compat.v1.nn.fused_batch_norm(x, gamma, beta, epsilon=self.epsilon,
                                                                 is_training=True)
            n = tf.cast(tf.size(x) // channels, "float32")
            variance = variance * (n - 1.0) / n  # the kernel returns Bessel's correction; Keras keeps the biased one
            m = self.momentum
            self.moving_mean.assign(self.moving_mean * m + tf.cast(mean, self.moving_mean.dtype) * (1.0 - m))
            self.moving_variance.assign(self.moving_variance * m
                                        + tf.cast(variance, self.moving_variance.dtype) * (1.0 - m))
        else:
            y, _, _ = tf.compat.v1.nn.fused_batch_norm(x, gamma, beta, tf.cast(self.moving_mean, "float32"),
                                                       tf.cast(self.moving_variance, "float32"),
                                                       epsilon=self.epsilon, is_training=False)
        return tf.cast(y[:, 0, 0, :] if flat else y, self.compute_dtype)


def portable(model):
    """A copy of ``model`` with Keras' own batch normalisation layers, weights and all: what runs save, so that a
    saved network loads with Keras alone, where barlow_lib is not installed."""
    def clone(layer):
        cls = keras.layers.BatchNormalization if isinstance(layer, BatchNormalization) else layer.__class__
        return cls.from_config(layer.get_config())

    copy = keras.models.clone_model(model, clone_function=clone)
    copy.set_weights(model.get_weights())
    return copy
