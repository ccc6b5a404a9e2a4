"""Small live measurements behind chapter 5's account of the training step: how far each layer moves in one
step under LAMB and under Adam, the learning-rate schedule, and how the batch size sets the gradient's noise."""
from __future__ import annotations

import numpy as np

from .. import models, optimizer, train
from ..backends import keras


def _twin(recipe, steps_per_epoch: int, opt=None):
    twin = models.build_twin(recipe, steps_per_epoch=steps_per_epoch)
    if opt is not None:  # the same network and loss, another optimizer
        opt.build(twin.trainable_variables)
        twin.compile(optimizer=opt, jit_compile=False)
    return twin


def _chosen(variables) -> list:
    """A spread of variables: the stem's kernel and its BN scale and shift, the deepest convolution, the
    projector's layers."""
    by_path = {v.path: v for v in variables}
    convs = [p for p in by_path if "conv" in p and p.endswith("kernel")]
    dense = [p for p in by_path if p.startswith("dense_") and p.endswith("kernel")]
    return [by_path[p] for p in ("stem_conv/kernel", "stem_bn/gamma", "stem_bn/beta", convs[-1], *dense)
            if p in by_path]


def layer_steps(recipe, images: np.ndarray, steps: int = 3, seed: int = 0) -> list[dict]:
    """Per variable of a few layers: its norm and how far one step moves it, in percent of that norm, after
    ``steps`` steps of the recipe's LAMB and of Adam at the same learning rate (both from the same weights).

    LAMB rescales each variable's Adam update to the learning rate times the variable's norm (the layer-wise
    trust ratio), so under LAMB every layer moves by about the same fraction; under Adam the fraction depends
    on the variable's size and scale."""
    from ..seeds import seeded

    inputs = train.epoch_inputs(images, recipe.batch_size, seed, 0)
    batches = [{k: v[i * recipe.batch_size:(i + 1) * recipe.batch_size] for k, v in inputs.items()}
               for i in range(steps + 1)]
    out = {}
    for name, make in (("LAMB", None), ("Adam", lambda: keras.optimizers.Adam(recipe.learning_rate))):
        with seeded(seed):
            twin = _twin(recipe.replace(schedule="constant", warmup_epochs=0), steps + 1, make and make())
        for b in batches[:steps]:
            twin.train_on_batch(b)
        chosen = _chosen(twin.trainable_variables)
        before = {v.path: np.array(v.numpy()) for v in chosen}
        twin.train_on_batch(batches[steps])
        for v in chosen:
            w = before[v.path]
            row = out.setdefault(v.path, {"variable": v.path, "size": int(w.size),
                                          "norm": round(float(np.linalg.norm(w)), 3)})
            moved = np.linalg.norm(v.numpy() - w) / max(np.linalg.norm(w), 1e-12)
            row[f"{name}: |step| / |w| (%)"] = float(100 * moved)
    return list(out.values())


def learning_rates(recipe, steps_per_epoch: int) -> np.ndarray:
    """The learning rate at every step of the recipe's schedule (warmup, then cosine decay)."""
    lr = optimizer.schedule(recipe, steps_per_epoch)
    steps = np.arange(recipe.epochs * steps_per_epoch)
    if not callable(lr):
        return np.full(len(steps), float(lr))
    return np.array([float(keras.ops.convert_to_numpy(lr(float(s)))) for s in steps])


def gradient_noise(recipe, images: np.ndarray, batch_sizes=(32, 128), draws: int = 4, seed: int = 0) -> list[dict]:
    """For each batch size: the spread of the loss's gradient over ``draws`` different batches, relative to
    (the same network, at random init). Averaging over N images divides the variance of an average by N, so
    the spread of a mean gradient falls as 1/sqrt(N) and ``spread x sqrt(N)`` stays about constant."""
    from ..seeds import seeded

    rows = []
    for n in batch_sizes:
        r = recipe.replace(batch_size=n)
        with seeded(seed):
            twin = _twin(r, 1)
        grads = []
        for d in range(draws):
            inputs = train.epoch_inputs(images, n, seed, d)
            batch = {k: v[:n] for k, v in inputs.items()}
            grads.append(_gradient(twin, batch))
        g = np.stack(grads)
        spread = float(np.sqrt(((g - g.mean(0)) ** 2).sum(1).sum() / (draws - 1)))  # RMS distance to the mean
        rows.append({"batch N": n, "gradient spread": round(spread, 4),
                     "spread x sqrt(N)": round(spread * n ** 0.5, 3)})
    return rows


def _gradient(twin, batch) -> np.ndarray:
    import tensorflow as tf

    with tf.GradientTape() as tape:
        z = twin(batch, training=True)
        loss = twin.compute_loss(y_pred=z)
    grads = tape.gradient(loss, twin.trainable_variables)
    return np.concatenate([np.ravel(keras.ops.convert_to_numpy(g)) for g in grads if g is not None])
