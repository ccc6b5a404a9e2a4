"""Named, printable training configurations.

``seed``   the keras-io example: ResNet-34 with the ImageNet stem, 5000^3 projector,
           LAMB 1e-3, batch 512, 160 epochs, lambda 5e-3 (its augmentation defects fixed).
``cifar``  the strongest recipe the published CIFAR-10 figures justify (NOTES.md):
           CIFAR-stem ResNet-18, 2048^3 projector, lambda 0.0051, batch 256, warmup + cosine,
           weight decay off biases and BN, 1000 epochs (solo-learn's length).
Precision and XLA default to "auto" (hardware.py): the fastest variants bench/train_step.py measured
that keep the loss curve (bfloat16 where native; XLA on accelerators and JAX, not on a TF CPU).
``cpu``    sized to learn something real on 2 CPU cores in 10 minutes.
``smoke``  seconds; for tests and CI.
"""
from __future__ import annotations

import dataclasses
import json

from .augment import AugmentConfig
from .errors import BarlowError


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    stem: str = "cifar"  # "imagenet" (the seed's) or "cifar"
    stem_stride: int = 1  # 2: the CIFAR stem at half resolution (4x fewer FLOPs)
    depth: int = 18  # 10, 18 or 34
    width: int = 64  # filters of the first stage
    projector: tuple = (2048, 2048, 2048)
    projector_bias: bool = False
    precision: str = "auto"  # "float32", "mixed_bfloat16", or "auto" (bf16 where native: hardware.py)


@dataclasses.dataclass(frozen=True)
class Recipe:
    name: str
    model: ModelSpec
    augment: AugmentConfig = AugmentConfig()
    lambd: float = 0.0051
    learning_rate: float = 1e-3  # LAMB peak learning rate
    weight_decay: float = 0.0  # decoupled, never on biases or BN
    warmup_epochs: int = 0
    schedule: str = "constant"  # or "cosine" (after the warmup)
    batch_size: int = 512
    epochs: int = 100
    jit_compile: bool | str = "auto"  # "auto": XLA on JAX and on accelerators, not on a TF CPU (hardware.py)
    knn_every: int = 0  # kNN monitor every N epochs (0: off)
    description: str = ""

    def replace(self, model: dict | None = None, augment: dict | None = None, **changes) -> "Recipe":
        """A copy with top-level fields changed; ``model``/``augment`` dicts change fields of those parts."""
        if model is not None:
            model = {k: tuple(v) if k == "projector" else v for k, v in model.items()}
            changes["model"] = dataclasses.replace(self.model, **model)
        if augment is not None:
            changes["augment"] = self.augment.replace(**augment)
        return dataclasses.replace(self, **changes)

    def for_image_size(self, size: int) -> "Recipe":
        """This recipe for square images of ``size`` px.

        Crops are fractions of the image side, so they carry over unchanged; views smaller than the
        images (``augment.output_size``) keep their ratio to the image side (16 px views of 32 px
        images become 24 px views of 48 px images).
        """
        if size == self.augment.image_size:
            return self
        changes = {"image_size": size}
        if self.augment.output_size:
            changes["output_size"] = max(8, round(self.augment.output_size * size / self.augment.image_size))
        return self.replace(augment=changes)

    def to_dict(self) -> dict:
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, d: dict) -> "Recipe":
        d = dict(d)
        model = dict(d.pop("model"))
        model["projector"] = tuple(model["projector"])
        return cls(model=ModelSpec(**model), augment=AugmentConfig(**d.pop("augment")), **d)

    def __str__(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


# Short runs learn far more with the seed's colour jitter halved (its brightness delta of 0.8 often
# washes a 32 px image out entirely) and a wider crop range. Measured on CIFAR-10 (full kNN, val split):
# the cpu-sized ResNet-10 reached 40.8% after 3 epochs with these settings, and 34.2% after 2 epochs with
# the seed's - random-init level (34.3%).
MILD_AUGMENT = AugmentConfig(crop_min=0.35, brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1, blur_prob=0.0,
                             solarize_prob=0.1)

RECIPES = {
    "seed": Recipe(
        name="seed",
        model=ModelSpec(stem="imagenet", depth=34, width=64, projector=(5000, 5000, 5000), projector_bias=True),
        lambd=5e-3, learning_rate=1e-3, batch_size=512, epochs=160,
        description="keras-io Barlow Twins: ResNet-34 (ImageNet stem), 5000^3 projector, LAMB, 160 epochs.",
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
        # Chosen by bench/gpu/sweep.py: 22 variants of equal CPU cost (of 38 listed; the rest ran out of GPU time),
        # float32, kNN on a validation split.
        # Training on 16 px views (evaluating at 32 px) buys 2.9x the epochs of 32 px views and beat
        # every wider, deeper or full-resolution network of the same cost; a two-layer projector and
        # crops of at least half the image side added the rest (results/gpu-sweep.json).
        model=ModelSpec(stem="cifar", depth=10, width=16, projector=(1024, 1024), precision="float32"),
        lambd=0.0051, learning_rate=1e-2, weight_decay=1e-4, warmup_epochs=1, schedule="cosine",
        batch_size=256, epochs=24,  # 28 took 578 s of the 600 (epochs of 17-21 s on this VM): 24 leaves room
        augment=MILD_AUGMENT.replace(crop_min=0.5, output_size=16),
        description="A narrow CIFAR-stem ResNet-10 trained on 16 px views, sized for 10 minutes on 2 CPU cores.",
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


def get(name: str) -> Recipe:
    if name not in RECIPES:
        raise BarlowError(f"unknown recipe {name!r}.", f"use one of: {', '.join(RECIPES)}")
    return RECIPES[name]
