"""The optimizers recipes train with: LAMB (the default) or LARS, an optional linear warmup and cosine decay."""
from __future__ import annotations

from .backends import keras

ops = keras.ops


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
    """The recipe's optimizer at its learning rate; weight decay never on biases or BN; the weights' moving
    average where the recipe asks for one (its variables are the optimizer's: checkpointed with it)."""
    average = {"use_ema": bool(recipe.ema_momentum), "ema_momentum": recipe.ema_momentum or 0.99}
    if recipe.optimizer == "lars":
        return LARS(schedule(recipe, steps_per_epoch), weight_decay_rate=recipe.weight_decay, **average)
    opt = keras.optimizers.Lamb(learning_rate=schedule(recipe, steps_per_epoch),
                                weight_decay=recipe.weight_decay or None, **average)
    if recipe.weight_decay:
        opt.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    return opt


class LARS(keras.optimizers.Optimizer):
    """SGD with momentum whose step for each weight tensor is rescaled to ``trust_coefficient`` times the
    tensor's norm over its gradient's (You, Gitman and Ginsburg, 2017), as the Barlow Twins paper trains.

    Weight decay is added to the gradient before the rescaling; vectors (biases, BatchNorm's scale and shift)
    get neither decay nor rescaling, as in the paper's code. The default trust coefficient, 0.02, is solo-learn's
    for CIFAR-10 (the paper's ImageNet value is 0.001).
    """

    def __init__(self, learning_rate=0.3, momentum=0.9, trust_coefficient=0.02, weight_decay_rate=0.0,
                 name="lars", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.momentum, self.trust_coefficient = momentum, trust_coefficient
        self.weight_decay_rate = weight_decay_rate

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.momentums = [self.add_variable_from_reference(v, name="momentum") for v in variables]

    def update_step(self, gradient, variable, learning_rate):
        g = ops.cast(gradient, variable.dtype)
        if len(variable.shape) > 1:  # a weight tensor, not a vector
            g = g + self.weight_decay_rate * variable
            w_norm, g_norm = ops.sqrt(ops.sum(ops.square(variable))), ops.sqrt(ops.sum(ops.square(g)))
            trust = ops.where((w_norm > 0) & (g_norm > 0), self.trust_coefficient * w_norm / (g_norm + 1e-12), 1.0)
            g = g * trust
        m = self.momentums[self._get_variable_index(variable)]
        self.assign(m, self.momentum * m + g)
        self.assign_sub(variable, ops.cast(learning_rate, variable.dtype) * m)

    def get_config(self):
        return super().get_config() | {"momentum": self.momentum, "trust_coefficient": self.trust_coefficient,
                                       "weight_decay_rate": self.weight_decay_rate}
