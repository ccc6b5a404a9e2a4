"""Ship a recorded run's trained backbone with the library (``barlow_lib.pretrained``).

    python bench/ship_backbone.py --run runs/cpu --name cpu

Writes the run's exported backbone (its ``backbone.keras``, at the images' size) as weights only to
``barlow_lib/pretrained_data/<file>`` and prints the SHA-256 that ``pretrained.SHIPPED`` must name; refuses a
run that is not finished or was not trained by the recipe the name builds (the weights would not fit it).
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import _common  # noqa: F401  (quiets TensorFlow)
from barlow_lib import files, pretrained, recipes
from barlow_lib.errors import BarlowError
from barlow_lib.runs import Run


def ship(run_dir: str, name: str) -> str:
    run, entry = Run(run_dir), pretrained.SHIPPED.get(name)
    if entry is None:
        raise BarlowError(f"no shipped backbone named {name!r}.", f"use one of: {', '.join(pretrained.names())}")
    run.require_complete()
    if run.recipe().model != recipes.get(entry["recipe"]).model:
        raise BarlowError(f"{run_dir} was not trained with the {entry['recipe']!r} recipe's network.",
                          f"ship a run of `--recipe {entry['recipe']}`")
    backbone, target = run.load_backbone(), pretrained.FOLDER / entry["file"]
    with tempfile.TemporaryDirectory() as work:  # Keras wants the name to end in .weights.h5
        saved = Path(work) / entry["file"]
        backbone.save_weights(saved)
        files.atomic_write(target, lambda tmp: shutil.copyfile(saved, tmp))
    return pretrained.sha256(target)


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--run", required=True, help="a finished run folder")
    p.add_argument("--name", default="cpu", choices=pretrained.names())
    args = p.parse_args()
    try:
        sha = ship(args.run, args.name)
    except BarlowError as err:
        print(f"error: {err.problem}", file=sys.stderr)
        if err.fix:
            print(f"  fix: {err.fix}", file=sys.stderr)
        sys.exit(2)
    print(f"{pretrained.SHIPPED[args.name]['file']}: SHA-256 {sha} (pretrained.SHIPPED must name it)")
