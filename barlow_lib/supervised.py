"""The baseline every label-efficiency figure needs: the same network trained from scratch on the labels.

``train_baseline`` fits the recipe's backbone plus a linear classifier with cross-entropy on a labelled
subset, seeing the same kind of views as pretraining minus the colour distortions (random crops and flips,
at the recipe's view size), for a fixed budget of optimizer steps, and reports accuracy on the evaluation
split at the images' full size - measured exactly as the linear probe on pretrained features is.
"""
from __future__ import annotations

import logging
import time

import numpy as np

from . import augment, models
from .backends import keras
from .data import Dataset
from .optimizer import make_optimizer
from .recipes import Recipe

MAX_EPOCHS = 200


class Classifier(keras.Model):
    """{"images", "noise"} -> class logits, augmenting on the device like the twin does."""

    def __init__(self, backbone, n_classes: int, augment_config: augment.AugmentConfig, **kwargs):
        super().__init__(**kwargs)
        self.backbone, self.augment_config = backbone, augment_config
        self.head = keras.layers.Dense(n_classes, dtype="float32", name="head")

    def call(self, inputs, training=False):
        views = augment.augment(inputs["images"], inputs["noise"][:, 0], self.augment_config)
        return self.head(self.backbone(views, training=training))


def baseline_augment(recipe: Recipe) -> augment.AugmentConfig:
    """The recipe's crops and flips, without colour, blur, grayscale or solarize."""
    return recipe.augment.replace(jitter_prob=0.0, blur_prob=0.0, grayscale_prob=0.0, solarize_prob=0.0)


def train_baseline(recipe: Recipe, ds: Dataset, indices: np.ndarray, *, steps: int, seed: int = 0,
                   start_from=None) -> dict:
    """Train from scratch on ``ds.x_train[indices]`` for ``steps`` steps (at most ``MAX_EPOCHS`` epochs), or,
    given a trained backbone of the recipe's network (``start_from``), fine-tune it with the same budget."""
    t0 = time.perf_counter()
    tf_logger = logging.getLogger("tensorflow")  # each call builds new models: TF's retracing notes say nothing
    level = tf_logger.level
    tf_logger.setLevel(logging.ERROR)
    try:
        return _train(recipe, ds, indices, steps, seed, start_from, t0)
    finally:
        tf_logger.setLevel(level)


def _train(recipe, ds, indices, steps, seed, start_from, t0) -> dict:
    recipe = recipe.for_image_size(ds.image_size)
    x, y = ds.x_train[indices], ds.y_train[indices]
    batch = min(recipe.batch_size, len(x))
    per_epoch = len(x) // batch
    epochs = max(1, min(MAX_EPOCHS, round(steps / per_epoch)))
    keras.utils.set_random_seed(seed)
    n_classes = len(ds.classes) or int(max(ds.y_train.max(), ds.y_eval.max())) + 1
    backbone = models.build_backbone(recipe.model, recipe.augment.view_size)
    if start_from is not None:  # the same weights at the views' size (the CIFAR stem's weights fit any size)
        backbone.set_weights(start_from.get_weights())
    net = Classifier(backbone, n_classes, baseline_augment(recipe))
    net.compile(optimizer=make_optimizer(recipe.replace(epochs=epochs), per_epoch),
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    for epoch in range(epochs):
        rng = np.random.default_rng([seed, epoch])
        order = rng.permutation(len(x))[: per_epoch * batch]
        noise = augment.draw_noise(rng, len(order))
        for i in range(per_epoch):
            part = order[i * batch:(i + 1) * batch]
            net.train_on_batch({"images": x[part], "noise": noise[i * batch:(i + 1) * batch]}, y[part])
    classify = keras.Sequential([models.at_size(net.backbone, recipe.model, ds.image_size), net.head])
    pred = np.concatenate([np.asarray(classify.predict_on_batch(ds.x_eval[i:i + 512].astype(np.float32) / 255.0))
                           .argmax(1) for i in range(0, len(ds.x_eval), 512)])
    return {"accuracy": round(float(np.mean(pred == ds.y_eval)), 4), "n_train": len(x), "epochs": epochs,
            "steps": epochs * per_epoch, "seconds": round(time.perf_counter() - t0, 1)}
