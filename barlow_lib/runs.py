"""The run directory: what ``train`` writes and ``evaluate`` and the book read.

    RUN_DIR/config.json        resolved recipe, data source, seed, devices
    RUN_DIR/history.json       per epoch: loss, kNN accuracy (if monitored), lr, seconds
    RUN_DIR/provenance.json    commit, hardware, software, start and end time
    RUN_DIR/checkpoints/last.npz   weights + optimizer state + history, atomic
    RUN_DIR/tensorboard/       scalars for TensorBoard
    RUN_DIR/projector.keras    the trained projector (the seed probed its output)
    RUN_DIR/backbone.keras     the trained encoder, written last when training completes
"""
from __future__ import annotations

from pathlib import Path

from . import checkpoint
from .errors import BarlowError
from .recipes import Recipe


class Run:
    def __init__(self, path):
        self.path = Path(path)

    config_path = property(lambda self: self.path / "config.json")
    history_path = property(lambda self: self.path / "history.json")
    provenance_path = property(lambda self: self.path / "provenance.json")
    checkpoint_path = property(lambda self: self.path / "checkpoints" / "last.npz")
    backbone_path = property(lambda self: self.path / "backbone.keras")
    projector_path = property(lambda self: self.path / "projector.keras")
    tensorboard_dir = property(lambda self: self.path / "tensorboard")

    def exists(self) -> bool:
        return self.config_path.exists()

    def config(self) -> dict:
        if not self.exists():
            raise BarlowError(f"{self.path} is not a run directory (no config.json).",
                              "pass the --out folder of a finished `barlow-twins train`")
        return checkpoint.read_json(self.config_path)

    def recipe(self) -> Recipe:
        return Recipe.from_dict(self.config()["recipe"])

    def history(self) -> dict:
        return checkpoint.read_json(self.history_path) if self.history_path.exists() else {}

    def provenance(self) -> dict:
        return checkpoint.read_json(self.provenance_path) if self.provenance_path.exists() else {}

    def is_complete(self) -> bool:
        return self.backbone_path.exists() and self.history().get("complete", False)

    def load_backbone(self, random_init: bool = False, seed: int = 0):
        """The trained encoder, or (``random_init``) the same architecture untrained."""
        import keras

        from .models import backbone_for

        recipe = self.recipe()
        if random_init:  # built by the same function as the trained one, at the data's size
            keras.utils.set_random_seed(seed)
            return backbone_for(recipe.model, recipe.augment.image_size)
        if not self.is_complete():
            raise BarlowError(f"run {self.path} has not finished training (no backbone.keras yet).",
                              "run the same `barlow-twins train` command again to resume it, or use --random-init")
        return keras.saving.load_model(self.backbone_path, compile=False)

    def load_projector(self):
        import keras

        if not self.is_complete():
            raise BarlowError(f"run {self.path} has not finished training.", "run the same train command to resume it")
        return keras.saving.load_model(self.projector_path, compile=False)
