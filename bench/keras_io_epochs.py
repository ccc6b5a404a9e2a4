"""The keras-io recipe's first epochs, beside the loss the keras-io example printed for the same epochs.

    python bench/keras_io_epochs.py --data cifar10-jpeg --epochs 5 --out results/keras-io-epochs.json

Trains the keras-io recipe as the example does (its 160-epoch settings, batch 512, all 50,000 training images;
no evaluation split is read) for its first ``--epochs`` epochs, twice: with this book's augmentation fixes
(``fixed``), and with the example's four augmentation bugs kept as settings (``bugs-kept``,
``augment.keras_io_bugs``: a like-for-like control for what the fixes change). Each run is a 160-epoch run
stopped early, so its folder under ``--work`` resumes it: the same command with a larger ``--epochs``
continues both runs, a killed one included. The result file, rewritten whole after each run, holds each epoch's
mean loss beside the published log's and the relative difference, and says which epochs of 160 it covers.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import time

import _common  # quiets TensorFlow; the command line a result file records
from barlow_lib import augment, data, hardware, provenance, recipes, train
from barlow_lib.chapters import keras_io_reference
from barlow_lib.errors import BarlowError
from barlow_lib.files import write_json
from barlow_lib.runs import Run

FROZEN_SIGMA = keras_io_reference.FROZEN_SIGMA
VARIANTS = {
    "fixed": "the keras-io recipe with this book's four augmentation fixes",
    "bugs-kept": "the keras-io recipe with the example's four augmentation bugs kept (augment.keras_io_bugs)",
}


def variant_recipe(name: str, base: str = "keras-io") -> recipes.Recipe:
    recipe = recipes.get(base)
    if name == "bugs-kept":
        bugs = augment.keras_io_bugs(recipe.augment, *augment.KERAS_IO_BUGS, frozen_sigma=FROZEN_SIGMA)
        recipe = recipe.replace(augment=dataclasses.asdict(bugs))
    return recipe.check()


def training_data(source: str, limit: int | None) -> data.Dataset:
    """The training images only, as the example trains: the folder's test split is dropped unread."""
    ds = data.load(source, limit=limit)
    return ds.replace(x_eval=None, y_eval=None, eval_split=None)


def relative(ours: list[float], theirs: list[float]) -> list[float]:
    return [round((a - b) / b, 4) for a, b in zip(ours, theirs, strict=False)]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="cifar10", help="cifar10, or a labelled image folder (DIR/train/<class>/...)")
    p.add_argument("--epochs", type=int, required=True, help="train each run up to this epoch of the 160")
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument("--limit", type=int, help="use only N training images (smoke runs; not comparable)")
    p.add_argument("--recipe", default="keras-io", choices=list(recipes.RECIPES),
                   help="the recipe trained (anything but keras-io is a dry run of this command)")
    p.add_argument("--work", default="keras-io-runs", help="run folders (resumable)")
    p.add_argument("--out", required=True)
    args = p.parse_args()
    _common.run_locked(args.work, lambda: compare(args))


def compare(args):
    total = recipes.get(args.recipe).epochs
    if not 1 <= args.epochs <= total:
        raise BarlowError(f"--epochs {args.epochs}: the {args.recipe} recipe has epochs 1 to {total}.",
                          f"give --epochs between 1 and {total}")
    started, commit = time.perf_counter(), provenance.git_commit()
    ds = training_data(args.data, args.limit)
    published = keras_io_reference.published_log()
    command = _common.command_line("bench/keras_io_epochs.py")
    result = {"title": "The keras-io recipe's first epochs against the example's published loss log",
              "published_source": published["source"], "data": ds.describe(), "n_train": len(ds.x_train),
              "limit": args.limit, "recipe": args.recipe, "variants": {}, "command": command}
    for name in args.variants:
        folder = os.path.join(args.work, name)
        done = len(Run(folder).history().get("epoch", []))
        t = time.perf_counter()
        if done < args.epochs:
            train.train(variant_recipe(name, args.recipe), ds, folder, max_epochs=args.epochs - done,
                        progress=False)
            print(f"{name}: epochs {done + 1}-{args.epochs} in {time.perf_counter() - t:.0f} s", flush=True)
        # every variant with an epoch in its folder, so that a stop before the next one keeps them all
        result["variants"] = {n: e for n in args.variants if (e := entry(n, args, published))}
        wall = round(time.perf_counter() - started, 1)
        write_json(args.out, result | {"provenance": provenance.collect() | {"commit": commit},
                                       "scheduling": _scheduling(), "wall_seconds": wall})
        print("wrote", args.out, flush=True)


def entry(name: str, args, published: dict) -> dict | None:
    """A variant's epochs so far (at most ``--epochs``) beside the published ones; None before its first."""
    recipe = variant_recipe(name, args.recipe)
    history = Run(os.path.join(args.work, name)).history()
    losses = [round(x, 2) for x in history.get("loss", [])[: args.epochs]]
    if not losses:
        return None
    theirs = published["loss_per_epoch"][: len(losses)]
    return {"what": VARIANTS[name], "recipe": recipe.to_dict(),
            "precision": hardware.resolve_precision(recipe.model.precision),
            "epochs": f"epochs 1-{len(losses)} of {recipe.epochs}", "epochs_done": len(losses),
            "loss": losses, "published_loss": theirs, "relative_difference": relative(losses, theirs),
            "seconds_per_epoch": [round(s, 1) for s in history["seconds"][: args.epochs]]}


def _scheduling() -> str:
    """How this process was scheduled: at idle priority its times include waiting for other work."""
    idle = hasattr(os, "SCHED_IDLE") and os.sched_getscheduler(0) == os.SCHED_IDLE
    nice = os.nice(0)
    if idle or nice > 0:
        return f"{'idle priority (SCHED_IDLE)' if idle else f'nice {nice}'}: its times include waiting for other work"
    return "normal priority"


if __name__ == "__main__":
    main()
