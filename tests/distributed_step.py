"""Run by test_distribute.py in a fresh process: one SGD step on 1 device and on 2, same global batch.

Prints one JSON line comparing the loss and the gradients (recovered as (w0 - w1) / lr).
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras  # noqa: E402
import numpy as np  # noqa: E402

if keras.backend.backend() == "tensorflow":
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

from barlow_lib import augment, distribute, models, recipes, steps  # noqa: E402

LR, BATCH = 0.05, 16
recipe = recipes.get("smoke").replace(small_crops=int(os.environ.get("SMALL_CROPS", "0")))  # multi-crop's views
rng = np.random.default_rng(0)
batch = {"images": rng.integers(0, 255, (BATCH, 32, 32, 3), dtype=np.uint8),
         "noise": augment.draw_noise(rng, BATCH, recipe.views)}


def one_step(devices, weights=None):
    keras.utils.set_random_seed(0)
    with distribute.device_scope(devices) as names:
        twin = models.build_twin(recipe, sync_bn=distribute.needs_sync_bn(devices))
        if weights is not None:
            twin.set_weights(weights)
        before = [np.array(w) for w in twin.get_weights()]
        twin.compile(optimizer=keras.optimizers.SGD(LR), jit_compile=keras.backend.backend() == "jax")
        loss = float(twin.train_on_batch(batch, return_dict=True)["loss"])  # the step `train` runs
        after = twin.get_weights()
        trainable = {id(v) for v in twin.trainable_variables}
        grads = [(b - np.array(a)) / LR for v, b, a in zip(twin.weights, before, after) if id(v) in trainable]
        moving = [np.array(a) for v, a in zip(twin.weights, after) if id(v) not in trainable]
    return before, loss, grads, moving, names


def epoch_losses(devices, weights, queued):
    """Three steps on ``devices``: queued by the epoch loop `train` runs, or train_on_batch step by step."""
    keras.utils.set_random_seed(0)
    images = np.concatenate([batch["images"]] * 3)
    epoch = {"images": images[np.random.default_rng(1).permutation(len(images))],
             "noise": augment.draw_noise(np.random.default_rng(1), len(images), recipe.views)}
    with distribute.device_scope(devices):
        twin = models.build_twin(recipe, sync_bn=distribute.needs_sync_bn(devices))
        twin.set_weights(weights)
        twin.compile(optimizer=keras.optimizers.SGD(LR), jit_compile=keras.backend.backend() == "jax")
        if queued:
            return steps.run_epoch(twin, epoch, BATCH, lambda first, losses: None)
        out = []
        for i in range(3):
            twin.reset_metrics()
            out.append(float(twin.train_on_batch({k: v[i * BATCH:(i + 1) * BATCH] for k, v in epoch.items()},
                                                 return_dict=True)["loss"]))
        return out


w0, loss1, g1, m1, _ = one_step(1)
_, loss2, g2, m2, names = one_step(2, w0)
# Norm-wise error: per-element errors of tiny gradient entries are float32 rounding amplified by
# BatchNorm's cancellations (in float64 the same comparison agrees to ~1e-6).
grad_err = float(np.sqrt(sum(np.sum((a - b) ** 2) for a, b in zip(g1, g2)) / sum(np.sum(a ** 2) for a in g1)))
moving_err = max(float(np.max(np.abs(a - b))) for a, b in zip(m1, m2))
by_step, queued = epoch_losses(2, w0, queued=False), epoch_losses(2, w0, queued=True)
epoch_err = max(abs(a - b) / abs(a) for a, b in zip(by_step, queued))
print(json.dumps({"backend": keras.backend.backend(), "devices": names, "loss_1": loss1, "loss_2": loss2,
                  "rel_grad_err": grad_err, "max_moving_stat_err": moving_err,
                  "epoch_losses": queued, "epoch_rel_err": epoch_err,
                  "grad_norm": float(sum(np.sum(g ** 2) for g in g1) ** 0.5)}))
sys.exit(0)
