"""What every chapter of the book does first: resolve its parameters into a recipe, data and a run folder."""
from __future__ import annotations

from .. import data, recipes

SMOKE_LIMIT = 2000  # images at smoke scale, so a chapter runs in seconds on any data source


def setup(recipe: str, source: str, limit: int = 0, epochs: int = 0, batch_size: int = 0, run_dir: str = ""):
    """(recipe, dataset, run folder) from a chapter's parameters; 0 or "" means "the default"."""
    r = recipes.get(recipe)
    r = r.replace(epochs=epochs or r.epochs, batch_size=batch_size or r.batch_size)
    ds = data.load(source, limit=limit or (SMOKE_LIMIT if recipe == "smoke" else None))
    return r, ds, run_dir or f"runs/{recipe}-{ds.name}"
