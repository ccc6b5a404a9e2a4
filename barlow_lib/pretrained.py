"""Backbones trained by this book's recipes, shipped with the library: ``pretrained.load("cpu")``.

Where each file comes from (its record, the command that trained it, the commit) is written in
``pretrained_data/README.md``. Its SHA-256 is checked before it is loaded: a damaged or replaced file is
refused with an ``error:``/``fix:`` pair, never used. The file holds weights only: the network is built
from its recipe by this library (so no code and no configuration is read from the file, and a file written
by a newer Keras loads in an older one, which a whole saved model does not).
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from .errors import BarlowError

FOLDER = Path(__file__).parent / "pretrained_data"
# name -> the weights file, its SHA-256, the record (results/runs/<record>) whose run it is, and the recipe
# and image size that build its network
SHIPPED = {
    "cpu": {"file": "cpu-backbone.weights.h5",
            "sha256": "b2ac8e4204f412262163560900f126c0ac4e19ae030a35ba87ff453885483872",
            "record": "cpu", "recipe": "cpu", "image_size": 32},
}


def names() -> tuple[str, ...]:
    return tuple(SHIPPED)


def sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def path(name: str = "cpu") -> Path:
    """The shipped file of ``name``, after checking that it is the file that was shipped."""
    if name not in SHIPPED:
        raise BarlowError(f"no pretrained backbone named {name!r}.", f"use one of: {', '.join(SHIPPED)}")
    entry = SHIPPED[name]
    file = FOLDER / entry["file"]
    if not file.is_file():
        raise BarlowError(f"the pretrained backbone {name!r} is missing from this installation ({file.name}).",
                          "reinstall barlow_lib (the pip package, or the repository's editable install)")
    if sha256(file) != entry["sha256"]:
        raise BarlowError(f"{file} is not the file that was shipped (its SHA-256 differs): it is damaged or "
                          "was replaced.", "reinstall barlow_lib, or restore the file from the repository")
    return file


def load(name: str = "cpu"):
    """The pretrained backbone ``name`` as a Keras model: 32 px CIFAR-10-like images in [0, 1] -> features."""
    from . import models, recipes

    file, entry = path(name), SHIPPED[name]
    backbone = models.build_backbone(recipes.get(entry["recipe"]).model, entry["image_size"])
    backbone.load_weights(file)
    return backbone
