"""The optimizer every recipe trains with: LAMB, an optional linear warmup and cosine decay."""
from __future__ import annotations

from .backends import keras


def schedule(recipe, steps_per_epoch: int):
    """The learning rate: the recipe's constant, or a linear warmup to it and then a cosine decay to zero."""
    lr = recipe.learning_rate
    warmup = recipe.warmup_epochs * steps_per_epoch
    if recipe.schedule == "cosine":
        lr = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=0.0 if warmup else lr, warmup_target=lr if warmup else None,
            warmup_steps=warmup, decay_steps=max(1, recipe.epochs * steps_per_epoch - warmup))
    return lr


def make_optimizer(recipe, steps_per_epoch: int):
    """LAMB at the recipe's learning rate; decoupled weight decay, never on biases or BN; the weights' moving
    average where the recipe asks for one (its variables are the optimizer's: checkpointed with it)."""
    opt = keras.optimizers.Lamb(learning_rate=schedule(recipe, steps_per_epoch),
                                weight_decay=recipe.weight_decay or None,
                                use_ema=bool(recipe.ema_momentum), ema_momentum=recipe.ema_momentum or 0.99)
    if recipe.weight_decay:
        opt.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    return opt
