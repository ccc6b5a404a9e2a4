"""Named, printable training configurations.

``keras-io`` the keras-io example (alias ``seed``, the book's starting point): ResNet-34 with the ImageNet
             stem and its architecture quirks, 5000^3 projector, LAMB 1e-3, batch 512, 160 epochs, lambda 5e-3
             (its augmentation defects fixed).
``cifar``    the strongest recipe the published CIFAR-10 figures justify: CIFAR-stem ResNet-18, 2048^3
             projector, lambda 0.0051, batch 256, warmup + cosine, weight decay off biases and BN, 1000
             epochs (solo-learn's length).
``cpu``      sized to learn real features in 15 minutes on 2 CPU cores.
``cpu-long`` the cpu recipe for 160 epochs: at most two hours on 2 CPU cores.
``smoke``    seconds; for tests and CI.
Precision and XLA default to "auto" (hardware.py): bfloat16 where the hardware computes it natively, XLA on
accelerators and JAX but not on a TensorFlow CPU (results/bench-train-step.json).
"""
from __future__ import annotations

import dataclasses
import json
import math

from .augment import AugmentConfig
from .errors import BarlowError

STAGE_BLOCKS = {10: (1, 1, 1, 1), 18: (2, 2, 2, 2), 34: (3, 4, 6, 3)}  # ResNet depth -> blocks per stage

# The values each free-text setting accepts (anything else would be silently ignored somewhere downstream).
CHOICES = {
    "schedule": ("constant", "cosine"),
    "optimizer": ("lamb", "lars"),
    "loss": ("barlow_twins", "vicreg"),
    "model.precision": ("auto", "float32", "mixed_bfloat16", "mixed_float16"),
    "model.stem": ("cifar", "imagenet"),
    "model.depth": tuple(STAGE_BLOCKS),
    "jit_compile": ("auto", True, False),
}


def _whole(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """The encoder and projector. The keras-io network's quirks are fields of their own."""

    stem: str = "cifar"  # "imagenet": 7x7/2 conv, 3x3/2 max-pool, 2x2 average pool + flatten; "cifar": 3x3/1 conv
    stem_stride: int = 1  # 2: the CIFAR stem at half resolution (4x fewer FLOPs)
    depth: int = 18  # 10, 18 or 34
    width: int = 64  # filters of the first stage
    conv_bias: bool = False  # keras-io: every convolution has a bias (redundant before BN)
    shortcut_bn: bool = True  # keras-io: projection shortcuts have no batch normalisation
    bn_momentum: float = 0.9  # PyTorch's 0.1 in Keras terms; keras-io: Keras' default 0.99
    projector: tuple = (2048, 2048, 2048)
    projector_bias: bool = False
    projector_bn: bool = True  # batch normalisation between the projector's layers
    precision: str = "auto"  # "float32", "mixed_bfloat16", "mixed_float16" or "auto" (hardware.auto_precision)
    # The features kNN and the linear probe read (models.probed): the last stage's map averaged over a
    # probe_grid x probe_grid grid and flattened; 1 is the global average the projector trains on.
    probe_grid: int = 1
    # Which stages' maps are probed (numbered from 1, each averaged over the grid, side by side); the
    # default, the last stage's alone. Earlier stages need the CIFAR stem and a probe_grid above 1.
    probe_stages: tuple = (4,)

    def replace(self, **changes) -> "ModelSpec":
        return dataclasses.replace(self, **changes)


@dataclasses.dataclass(frozen=True)
class Recipe:
    name: str
    model: ModelSpec
    augment: AugmentConfig = AugmentConfig()
    lambd: float = 0.0051
    loss: str = "barlow_twins"  # or "vicreg" (loss.vicreg_loss, its paper's weights; lambd unused)
    optimizer: str = "lamb"  # or "lars" (optimizer.LARS: SGD with layer-wise trust ratios, the paper's)
    learning_rate: float = 1e-3  # peak learning rate (LARS takes far larger ones: solo-learn's CIFAR 0.3)
    weight_decay: float = 0.0  # never on biases or BN; LAMB's is decoupled, LARS adds it to the gradient
    warmup_epochs: int = 0
    schedule: str = "constant"  # or "cosine" (after the warmup)
    batch_size: int = 512
    epochs: int = 100
    jit_compile: bool | str = "auto"  # "auto": XLA on JAX and on accelerators, not on a TF CPU (hardware.py)
    knn_every: int = 0  # kNN monitor every N epochs (0: off)
    # Evaluation reads an exponential moving average of the weights, updated every step with this momentum
    # (0: off, the last weights). BN's moving statistics are the trained network's own; the kNN monitor
    # reads the training weights.
    ema_momentum: float = 0.0
    # Multi-crop (Caron et al., 2020): ``small_crops`` extra views per image, ``small_crop_size`` px, cropped to
    # sides of ``small_crop_sides`` of the image; the loss averages the two views' pair and each small view
    # with each of them. 0: the two views only.
    small_crops: int = 0
    small_crop_size: int = 8
    small_crop_sides: tuple = (0.25, 0.5)
    # Progressive resizing: ((fraction, side), ...) - from that fraction of the epochs on, views of that side
    # (e.g. ((0.75, 24),): the last quarter on 24 px views); () keeps ``augment.output_size`` throughout.
    view_schedule: tuple = ()
    description: str = ""

    def __post_init__(self):  # lists (from JSON or a caller) become tuples: recipes compare and hash alike
        if isinstance(self.view_schedule, (list, tuple)):  # anything else is refused by ``check``
            schedule = tuple(tuple(e) if isinstance(e, (list, tuple)) else e for e in self.view_schedule)
            object.__setattr__(self, "view_schedule", schedule)
        if isinstance(self.small_crop_sides, list):
            object.__setattr__(self, "small_crop_sides", tuple(self.small_crop_sides))

    @property
    def views(self) -> int:
        """Views made of each image per step: the two, and multi-crop's small ones."""
        return 2 + self.small_crops

    @property
    def small_augment(self) -> AugmentConfig:
        """The augmentation of multi-crop's small views: the recipe's, with their crop sides and size."""
        lo, hi = self.small_crop_sides
        return self.augment.replace(crop_min=lo, crop_max=hi, output_size=self.small_crop_size)

    def replace(self, model: dict | None = None, augment: dict | None = None, **changes) -> "Recipe":
        """A copy with top-level fields changed; ``model``/``augment`` dicts change fields of those parts."""
        if model is not None:
            changes["model"] = self.model.replace(**{k: tuple(v) if k == "projector" else v for k, v in model.items()})
        if augment is not None:
            changes["augment"] = self.augment.replace(**augment)
        return dataclasses.replace(self, **changes)

    def view_size_at(self, epoch: int) -> int:
        """The side of the views in (1-based) ``epoch``: entry (f, side) of ``view_schedule`` applies from
        epoch floor(f * epochs) + 1 on."""
        side = self.augment.view_size
        for fraction, later in self.view_schedule:
            if epoch > math.floor(fraction * self.epochs):
                side = later
        return side

    def for_image_size(self, size: int) -> "Recipe":
        """This recipe for square images of ``size`` px.

        Crops are fractions of the image side, so they carry over unchanged; views smaller than the
        images (``augment.output_size``) keep their ratio to the image side (16 px views of 32 px
        images become 24 px views of 48 px images).
        """
        if size == self.augment.image_size:
            return self
        def scaled(side):
            return max(8, round(side * size / self.augment.image_size))

        changes = {"image_size": size}
        if self.augment.output_size:
            changes["output_size"] = scaled(self.augment.output_size)
        return self.replace(augment=changes, view_schedule=tuple((f, scaled(s)) for f, s in self.view_schedule),
                            small_crop_size=scaled(self.small_crop_size))

    def check(self) -> "Recipe":
        """Refuse settings that cannot train, naming the parameter."""
        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise BarlowError(f"`epochs` {self.epochs}: a run needs at least one epoch.", "use `epochs` 1 or more")
        if not isinstance(self.batch_size, int) or self.batch_size < 2:
            raise BarlowError(f"`batch_size` {self.batch_size}: Barlow Twins standardises every feature over the "
                              "batch, which needs at least 2 images (and 64+ for a useful estimate).",
                              "use `batch_size` 64 or more")
        if not (isinstance(self.learning_rate, (int, float)) and math.isfinite(self.learning_rate)
                and self.learning_rate > 0):
            raise BarlowError(f"`learning_rate` {self.learning_rate}: it must be a positive number.",
                              "use e.g. `learning_rate` 1e-3")
        if not (_number(self.ema_momentum) and 0 <= self.ema_momentum < 1):
            raise BarlowError(f"`ema_momentum` {self.ema_momentum!r}: the weights' moving average keeps this share "
                              "of itself each step, a number from 0 (off) up to, not including, 1.",
                              "use `ema_momentum` 0 (off) or e.g. 0.99")
        if not isinstance(self.knn_every, int) or self.knn_every < 0:
            raise BarlowError(f"`knn_every` {self.knn_every}: the kNN monitor runs every N epochs, N >= 0.",
                              "use `knn_every` 0 (off) or a positive number of epochs")
        entries = self.view_schedule if isinstance(self.view_schedule, tuple) else ((None,),)
        fractions = [e[0] if isinstance(e, (tuple, list)) and e else None for e in entries]
        if any(not (isinstance(e, (tuple, list)) and len(e) == 2 and isinstance(e[1], int) and e[1] >= 8
                    and isinstance(e[0], (int, float)) and 0 < e[0] < 1) for e in entries) \
                or fractions != sorted(set(fractions)):  # (None only where the first test already failed)
            raise BarlowError(f"`view_schedule` {self.view_schedule!r}: pairs (fraction of the epochs, view side) "
                              "with fractions rising between 0 and 1 and sides of 8 px or more.",
                              "use e.g. `view_schedule` ((0.75, 24),): the last quarter of the epochs on 24 px views")
        if self.model.stem == "imagenet" and self.augment.output_size not in (None, self.augment.image_size):
            raise BarlowError(f"`output_size` {self.augment.output_size}: views smaller than the images need the "
                              "CIFAR stem (the ImageNet stem's flatten takes one map size, the images').",
                              "use the CIFAR stem (`stem` cifar), or views at the images' size (`output_size` None)")
        sides = self.small_crop_sides
        count_ok = _whole(self.small_crops) and self.small_crops >= 0
        size_ok = _whole(self.small_crop_size) and self.small_crop_size >= 8
        sides_ok = isinstance(sides, tuple) and len(sides) == 2 and all(_number(x) for x in sides) \
            and 0 < sides[0] <= sides[1] <= 1
        if not (count_ok and size_ok and sides_ok):
            raise BarlowError(f"multi-crop `small_crops` {self.small_crops!r}, `small_crop_size` "
                              f"{self.small_crop_size!r}, `small_crop_sides` {sides!r}: a count of 0 or more, a "
                              "side of 8 px or more, and crop sides (smallest, largest) as fractions of the image "
                              "side within (0, 1].",
                              "use e.g. `small_crops` 4, `small_crop_size` 8, `small_crop_sides` (0.25, 0.5)")
        if self.small_crops and self.model.stem != "cifar":
            raise BarlowError("`small_crops`: small views need the CIFAR stem (the ImageNet stem's flatten takes "
                              "one map size).", "use the CIFAR stem (`stem` cifar), or `small_crops` 0")
        if self.view_schedule and self.model.stem != "cifar":
            raise BarlowError("`view_schedule` changes the view size, which the ImageNet stem's flatten cannot take.",
                              "use the CIFAR stem (`stem` cifar), or drop `view_schedule`")
        for key, allowed in CHOICES.items():
            value = self
            for part in key.split("."):
                value = getattr(value, part)
            if not any(value == a and type(value) is type(a) for a in allowed):
                shown = ", ".join(json.dumps(a) for a in allowed)
                raise BarlowError(f"`{key.split('.')[-1]}` {value!r}: not one of the choices ({shown}).",
                                  f"use one of: {shown}")
        grid = self.model.probe_grid
        if not _whole(grid) or grid < 1 or (grid > 1 and
                                                                               self.model.stem != "cifar"):
            raise BarlowError(f"`probe_grid` {grid!r}: the probed features are the last stage's map averaged over "
                              "a probe_grid x probe_grid grid, a whole number from 1, above 1 with the CIFAR stem "
                              "only (the ImageNet stem's features are already a flattened 2x2 map).",
                              "use `probe_grid` 1 (the global average) or 2 with `stem` cifar")
        stages = self.model.probe_stages
        if not (isinstance(stages, tuple) and stages and all(_whole(x) and 1 <= x <= 4 for x in stages)
                and list(stages) == sorted(set(stages))):
            raise BarlowError(f"`probe_stages` {stages!r}: the stages whose maps are probed, numbered 1 to 4, "
                              "each once, in order.", "use e.g. `probe_stages` (4,) (the last stage) or (3, 4)")
        if stages != (4,) and (self.model.stem != "cifar" or grid < 2):
            raise BarlowError(f"`probe_stages` {stages!r}: stages other than the last are probed on the grid "
                              "(`probe_grid` 2 or more) of the CIFAR stem's maps.",
                              "use `probe_stages` (4,), or `stem` cifar with `probe_grid` 2 or 4")
        return self

    def to_dict(self) -> dict:
        return json.loads(json.dumps(dataclasses.asdict(self)))

    def trains_as(self, d: dict) -> bool:
        """Whether a recipe written as ``d`` (a result file's, a record's) trains and probes as this one: every
        setting equal, a setting added since ``d`` was written at its default; the description, prose for
        readers, may have been reworded since."""
        return settings(d) == settings(self.to_dict())

    @classmethod
    def from_dict(cls, d: dict) -> "Recipe":
        d = dict(d)
        model = dict(d.pop("model"))
        model["projector"] = tuple(model["projector"])
        if "probe_stages" in model:
            model["probe_stages"] = tuple(model["probe_stages"])
        if "conv_bias" not in model:  # run folders written before the quirks had fields of their own
            keras_io = model.get("stem") == "imagenet"
            model |= {"conv_bias": keras_io, "shortcut_bn": not keras_io, "bn_momentum": 0.99 if keras_io else 0.9}
        d["name"] = ALIASES.get(d["name"], d["name"])
        return cls(model=ModelSpec(**model), augment=AugmentConfig(**d.pop("augment")), **d)

    def __str__(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


# Short runs learn far more with the keras-io example's colour jitter halved (its brightness delta of 0.8
# often washes a 32 px image out entirely: chapter 2 counts how often) and a wider crop range: on CIFAR-10
# the cpu-sized ResNet-10 left the random-init kNN level within 3 epochs with these settings, and had not
# after 2 epochs with the keras-io ones.
MILD_AUGMENT = AugmentConfig(crop_min=0.35, brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1, blur_prob=0.0,
                             solarize_prob=0.1)

RECIPES = {
    "keras-io": Recipe(
        name="keras-io",
        model=ModelSpec(stem="imagenet", depth=34, width=64, conv_bias=True, shortcut_bn=False, bn_momentum=0.99,
                        projector=(5000, 5000, 5000), projector_bias=True),
        lambd=5e-3, learning_rate=1e-3, batch_size=512, epochs=160,
        description="The keras-io example: ResNet-34 (ImageNet stem), 5000^3 projector, LAMB, 160 epochs.",
    ),
    "cifar": Recipe(
        name="cifar",
        model=ModelSpec(stem="cifar", depth=18, width=64, projector=(2048, 2048, 2048)),
        lambd=0.0051, learning_rate=5e-3, weight_decay=1e-4, warmup_epochs=10, schedule="cosine",
        batch_size=256, epochs=1000, knn_every=20,
        # solo-learn's CIFAR augmentations: crop area from 8% (side 0.28), jitter 0.4/0.4/0.2/0.1, no blur,
        # solarize on one view in five overall (its two views use 0.0 and 0.2).
        augment=AugmentConfig(crop_min=0.28, brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1, blur_prob=0.0,
                              solarize_prob=0.1),
        description="CIFAR-stem ResNet-18, 2048^3 projector, warmup+cosine LAMB (a GPU recipe).",
    ),
    "cpu": Recipe(
        name="cpu",
        # Every setting chosen on a validation split carved from train, never on test: first by a sweep of 22
        # equal-CPU-cost variants on a GPU (results/gpu-sweep.json: 16 px views, evaluated at 32 px, beat
        # wider, deeper and full-resolution networks of the same cost; a two-layer projector and crops of at
        # least half the side added the rest), then by a sweep at a fixed wall-clock budget on 2 CPU cores
        # (results/cpu-sweep.json, bench/cpu_sweep.py), whose short-budget variants did not displace it, but
        # for the probed features: the last stage averaged to 2x2 (probe-2x2, three seeds) beat the global pool,
        # and its whole 4x4 map (probe-4x4, three seeds) beat the 2x2 on the linear probe beyond the noise, with
        # kNN no worse within it. The third stage's map (probe-stage-3, probe-stages-3-4, three seeds) read higher
        # still, but higher at random init too, and what training added to it was no larger beyond the noise: it
        # stays the last stage alone.
        model=ModelSpec(stem="cifar", depth=10, width=16, projector=(1024, 1024), precision="float32",
                        probe_grid=4),
        lambd=0.0051, learning_rate=1e-2, weight_decay=1e-4, warmup_epochs=1, schedule="cosine",
        # 36 epochs of 50,000 images: nine tenths of the steps of the sweep's 15-minute base (44 epochs of
        # 45,000), which beat half of them on kNN beyond the noise, on linear within it (budget-x0.5, three
        # seeds each, the 4x4 probe, validation split); about 11 minutes on 2 quiet cores (25 epochs took
        # 471-478 s), which leaves a quarter of the 15 for slower days
        batch_size=256, epochs=36,
        knn_every=3,  # the kNN monitor costs about 4 s per use on 2 cores
        augment=MILD_AUGMENT.replace(crop_min=0.5, output_size=16),
        description="A narrow CIFAR-stem ResNet-10 trained on 16 px views, sized for 15 minutes on 2 CPU cores; "
                    "its settings were chosen on a validation split carved from the training images.",
    ),
    "smoke": Recipe(
        name="smoke",
        model=ModelSpec(stem="cifar", depth=10, width=8, projector=(256, 256, 256), precision="float32"),
        lambd=0.01, learning_rate=1e-2, schedule="cosine", warmup_epochs=1,
        batch_size=64, epochs=12,
        augment=MILD_AUGMENT.replace(crop_min=0.5),
        description="A tiny ResNet-10 for tests and the book's build: seconds on a CPU.",
    ),
}
# cpu-long: the cpu recipe with one change to its training, the length of its schedule. At every budget the
# sweeps measured (3 minutes on 2 cores; 7 and 11 minutes' worth in results/gpu-sweep.json), a wider, deeper or
# larger-view network lost to this one at equal cost, and the longer schedule won (combo-x1.5); at 15 minutes
# on 2 cores, though, 24 px views read above 16 px on the global pool (three seeds each, results/cpu-sweep.json),
# but not beyond the noise on the whole 4x4 map these recipes probe; a first stage 24 wide read above on the
# map's linear probe (three seeds) by no more than the same networks differ at random init, and within noise
# on kNN: no sign of better-learnt features, at that budget. Every published figure at or above 80% trains a
# ResNet-18 for 133 times this recipe's arithmetic or more (the results page counts it).
# 160 epochs (the keras-io example's count) are about 80 minutes on 2 quiet cores, a margin under two hours. It
# probes the cpu recipe's whole 4x4 map, as chosen for that recipe on the validation split.
RECIPES["cpu-long"] = RECIPES["cpu"].replace(
    name="cpu-long", epochs=160, knn_every=10,
    description="The cpu recipe's network and views trained for 160 epochs, sized for at most two hours on 2 CPU "
                "cores; its settings were chosen on a validation split carved from the training images.")
RECIPES["smoke"] = RECIPES.pop("smoke")  # listed last: for tests, not readers
ALIASES = {"seed": "keras-io"}  # the name the first versions of this book used


def settings(d):
    """A saved recipe as today's Recipe writes it (settings added since at their defaults), without its
    description: prose, not a setting. A recipe with fields this library does not know is returned as saved."""
    try:
        d = Recipe.from_dict(d).to_dict()
    except (TypeError, KeyError, ValueError, AttributeError):
        pass
    return {k: v for k, v in d.items() if k != "description"} if isinstance(d, dict) else d


def get(name: str) -> Recipe:
    name = ALIASES.get(name, name)
    if name not in RECIPES:
        raise BarlowError(f"unknown recipe {name!r}.", f"use one of: {', '.join(RECIPES)}")
    return RECIPES[name]
