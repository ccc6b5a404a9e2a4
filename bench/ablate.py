"""What matters in the `cpu` recipe: one change at a time, several seeds each, at one fixed training budget.

    python bench/ablate.py --data cifar10-jpeg --epochs 3 --seeds 0 1 2 --out results/ablations.json

Every variant changes one thing of the base recipe (``VARIANTS``) and is compared with the variant it
differs from (``against``: the base, or the base with blur for the blur bug). All train the same number of
epochs on the same images (the budget is epochs, so a variant that is slower per epoch pays for it in the
recorded cost, not in its accuracy), are judged on the validation split carved from the training images
(the folder's test split is never read) by kNN on every training image and the linear probe on
``cpu_sweep.PROBE_IMAGES`` of them, and the base's runs are also probed at the projector's output (the keras-io
example's choice) and at random init.

The result file is rewritten whole after each run (a kill leaves the previous complete file); runs already in
it are skipped and a run killed halfway resumes from its folder under ``--work``, so the same command
continues a study. One process at a time: a second one on the same ``--work`` is refused.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import time
from collections.abc import Callable
from pathlib import Path

import _common  # quiets TensorFlow; the command line a result file records
import numpy as np
from barlow_lib import augment, evaluate, provenance, recipes, train
from barlow_lib.chapters import keras_io_reference
from barlow_lib.errors import BarlowError
from barlow_lib.files import read_json, write_json
from cpu_sweep import features, measure, validation_data

FROZEN_SIGMA = keras_io_reference.FROZEN_SIGMA
KERAS_IO_BLUR = 0.2  # the example's blur probability


@dataclasses.dataclass(frozen=True)
class Variant:
    what: str
    group: str
    change: Callable[[recipes.Recipe], recipes.Recipe]
    against: str = "base"
    chapter: str = ""  # the chapter whose claim it tests


def _aug(**fields):
    return lambda r: r.replace(augment=fields)


def _bugs(*bugs, blur=False):
    def change(r):
        a = r.augment.replace(blur_prob=KERAS_IO_BLUR) if blur else r.augment
        return r.replace(augment=dataclasses.asdict(augment.keras_io_bugs(a, *bugs, frozen_sigma=FROZEN_SIGMA)))
    return change


VARIANTS = {
    "base": Variant("the base recipe (the file's base_recipe)", "base", lambda r: r),
    # the keras-io example's four augmentation bugs, each put back (chapter 2); bug 1 (solarize never fires)
    # is the same training as removing solarize, below
    "bug-flip": Variant("keras-io bug 2 kept: flips a quarter of the images", "keras-io bugs", _bugs("flip"),
                        chapter="02_augmentations"),
    "bug-crop": Variant("keras-io bug 3 kept: the crop never keeps the whole side", "keras-io bugs", _bugs("crop"),
                        chapter="02_augmentations"),
    "blur": Variant(f"blur added (p {KERAS_IO_BLUR}, a sigma per image; the cpu recipe has none)", "augmentations",
                    _aug(blur_prob=KERAS_IO_BLUR), chapter="02_augmentations"),
    "bug-blur": Variant("keras-io bug 4 kept: one blur sigma for the whole run", "keras-io bugs",
                        _bugs("blur", blur=True), against="blur", chapter="02_augmentations"),
    "bugs-all": Variant("all four keras-io bugs kept (with its blur)", "keras-io bugs",
                        _bugs(*augment.KERAS_IO_BUGS, blur=True), against="blur", chapter="02_augmentations"),
    # each augmentation removed
    "no-crop": Variant("crop removed (the whole image, resized to the view size)", "augmentations",
                       _aug(crop_min=1.0, crop_max=1.0), chapter="02_augmentations"),
    "no-flip": Variant("flip removed", "augmentations", _aug(flip_prob=0.0), chapter="02_augmentations"),
    "no-jitter": Variant("colour jitter removed", "augmentations", _aug(jitter_prob=0.0), chapter="02_augmentations"),
    "no-grayscale": Variant("grayscale removed", "augmentations", _aug(grayscale_prob=0.0),
                            chapter="02_augmentations"),
    "no-solarize": Variant("solarize removed (= keras-io bug 1 kept: its solarize never fired)", "augmentations",
                           _aug(solarize_prob=0.0), chapter="02_augmentations"),
    # the network
    # The ImageNet stem's flatten takes one map size, so it sees the full 32 px images: a quarter of the CIFAR
    # stem's compute per pixel on four times the pixels: 6.2 against 8.1 MFLOP per image (models.forward_flops).
    "imagenet-stem": Variant("ImageNet stem (7x7/2 conv and max-pool) on full 32 px views, three quarters of the "
                             "base's compute per image, instead of the CIFAR stem on 16 px views", "network",
                             lambda r: r.replace(model={"stem": "imagenet", "probe_grid": 1},
                                                 augment={"output_size": None}),
                             chapter="04_resnet34"),
    "projector-512": Variant("projector 512-512 (base: 1024-1024)", "projector and loss",
                             lambda r: r.replace(model={"projector": (512, 512)}), chapter="03_loss"),
    "projector-no-bn": Variant("no batch normalisation in the projector", "projector and loss",
                               lambda r: r.replace(model={"projector_bn": False}), chapter="03_loss"),
    "lambda-x0.5": Variant("lambda halved", "projector and loss", lambda r: r.replace(lambd=r.lambd / 2),
                           chapter="03_loss"),
    "lambda-x2": Variant("lambda doubled", "projector and loss", lambda r: r.replace(lambd=r.lambd * 2),
                         chapter="03_loss"),
    "batch-128": Variant("batch 128 (base: 256; twice the steps)", "training",
                         lambda r: r.replace(batch_size=r.batch_size // 2), chapter="05_training"),
}
PROBED = {"probe-projector": Variant("probed at the projector's output (the keras-io example's choice) instead of "
                                     "the backbone", "evaluation", lambda r: r, chapter="06_evaluation")}
STUDY_SETTINGS = {"knn_every": 0}  # no kNN monitor during study runs (the final kNN says it all)


def variant_recipe(base: str | recipes.Recipe, name: str, epochs: int) -> recipes.Recipe:
    """The variant of ``base``: a recipe's name (today's recipe), or the recipe a study's file started from
    (its ``base_recipe``: a study continued after the recipe changed keeps comparing with the same base)."""
    start = base if isinstance(base, recipes.Recipe) else recipes.get(base)
    return VARIANTS[name].change(start.replace(epochs=epochs, **STUDY_SETTINGS)).check()


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        out |= _flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {prefix + k: v}
    return out


def changes(against: recipes.Recipe, variant: recipes.Recipe) -> dict:
    """What a variant changes in the recipe it is compared with: {"augment.flip_prob": [0.5, 0.25], ...}."""
    a, b = _flat(against.to_dict()), _flat(variant.to_dict())
    return {k: [a[k], b[k]] for k in a if a[k] != b[k] and k != "description"}


T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228,
       12: 2.179, 15: 2.131, 20: 2.086, 30: 2.042}  # two-sided 95% quantiles of Student's t


def t95(df: float) -> float:
    """The t quantile for ``df`` degrees of freedom, rounded down to a tabulated df (a wider interval)."""
    return T95[max([d for d in T95 if d <= max(df, 1)])] if df < 60 else 1.96


def difference(variant: list[float], against: list[float]) -> dict:
    """Mean difference with a Welch 95% interval (unequal spreads, unpaired seeds)."""
    v, a = np.asarray(variant, float), np.asarray(against, float)
    diff = float(v.mean() - a.mean())
    if len(v) < 2 or len(a) < 2:
        return {"mean": round(diff, 4), "low": None, "high": None, "noise": None}
    qv, qa = v.var(ddof=1) / len(v), a.var(ddof=1) / len(a)
    se = math.sqrt(qv + qa)
    df = (qv + qa) ** 2 / ((qv ** 2 / (len(v) - 1)) + (qa ** 2 / (len(a) - 1))) if se > 0 else 60
    half = t95(df) * se
    return {"mean": round(diff, 4), "low": round(diff - half, 4), "high": round(diff + half, 4),
            "noise": bool(diff - half <= 0 <= diff + half)}


def summarise(runs: list[dict], variants: dict) -> dict:
    """Per variant: seeds, per-seed values, mean and sd of each measure, cost, and the difference from the
    variant it is compared with (over the seeds both have)."""
    out = {}
    for name in dict.fromkeys(r["variant"] for r in runs):
        rows = [r for r in runs if r["variant"] == name]
        v = variants[name]
        entry = {"what": v.what, "group": v.group, "against": v.against, "chapter": v.chapter,
                 "seeds": [r["seed"] for r in rows], "epochs": rows[0]["epochs"],
                 "train_seconds_mean": round(float(np.mean([r["train_s"] for r in rows])), 1),
                 "train_seconds_fastest": min(r["train_s"] for r in rows)}
        ref = {r["seed"]: r for r in runs if r["variant"] == v.against}
        for key in ("knn", "linear"):
            values = [r[key] for r in rows]
            entry[key] = {"values": values, "mean": round(float(np.mean(values)), 4),
                          "sd": round(float(np.std(values, ddof=1)), 4) if len(values) > 1 else None}
            if name != v.against and ref:
                entry[key]["difference"] = difference(values, [r[key] for r in ref.values()])
        out[name] = entry
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="a labelled image folder (DIR/train/<class>/...)")
    p.add_argument("--epochs", type=int, required=True, help="training epochs of every run (the budget)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument("--base", default="cpu", choices=list(recipes.RECIPES), help="the recipe varied")
    p.add_argument("--limit", type=int, help="use only N training images (smoke runs)")
    p.add_argument("--work", default="ablation-runs", help="run folders (resumable)")
    p.add_argument("--out", required=True)
    args = p.parse_args()
    _common.run_locked(args.work, lambda: study(args))


def study(args):
    started, commit = time.perf_counter(), provenance.git_commit()  # the code this process runs
    ds = validation_data(args.data, args.limit)
    result = read_json(args.out) if Path(args.out).exists() else {}
    if result and (result.get("base"), result.get("epochs")) != (args.base, args.epochs):
        raise BarlowError(f"{args.out} holds a study of {result.get('base')} at {result.get('epochs')} epochs, "
                          f"not of {args.base} at {args.epochs}.", "give --out a new file, or the same settings")
    runs = result.get("runs", [])
    command = _common.command_line("bench/ablate.py")
    commands = [c for c in result.get("command", "").split(" && ") if c and c != command] + [command]
    start = recipes.Recipe.from_dict(result["base_recipe"]) if "base_recipe" in result else recipes.get(args.base)
    base = variant_recipe(start, "base", args.epochs)
    for name in args.variants:  # every variant checked before the first one trains (a bad one stops nothing halfway)
        variant_recipe(start, name, args.epochs)
    variants = VARIANTS | PROBED
    for seed in args.seeds:
        for name in args.variants:
            if any(r["variant"] == name and r["seed"] == seed for r in runs):
                continue
            recipe = variant_recipe(start, name, args.epochs)
            t = time.perf_counter()
            run = train.train(recipe, ds, os.path.join(args.work, f"{name}-s{seed}"), seed=seed, progress=False)
            extracted = features(run.load_backbone(), ds)  # what the projector reads: the global pool
            probed = extracted if recipe.model.probe_grid == 1 else features(run.load_probed(), ds)
            row = {"variant": name, "seed": seed, "epochs": recipe.epochs,
                   "train_s": round(sum(run.history()["seconds"]), 1), "wall_s": round(time.perf_counter() - t, 1),
                   **measure(None, ds, probed), "commit": commit}
            new = [row]
            if name == "base":  # the learning test's reference, and the projector's output as the probed layer
                row["random_init"] = measure(run.load_probed(random_init=True, seed=seed), ds)
                projector = run.load_projector()
                projected = tuple(evaluate.project(projector, f) for f in extracted)
                new.append({k: v for k, v in row.items() if k != "random_init"}
                           | {"variant": "probe-projector", **measure(None, ds, projected)})
            runs += new
            for r in new:
                print(json.dumps(r), flush=True)
            write_json(args.out, {
                "title": f"What matters in the {args.base} recipe: one change at a time", "base": args.base,
                "epochs": args.epochs, "base_recipe": base.to_dict(), "study_settings": STUDY_SETTINGS,
                "data": ds.describe(), "split": ds.eval_split, "n_train": len(ds.x_train), "n_eval": len(ds.x_eval),
                "variants": {n: {"what": v.what, "group": v.group, "against": v.against, "chapter": v.chapter,
                                 "changes": changes(variant_recipe(start, v.against, args.epochs),
                                                    variant_recipe(start, n, args.epochs))
                                 if n in VARIANTS else {"probed": ["backbone", "projector output"]}}
                             for n, v in variants.items()},
                "interval": "difference of means, Welch 95% interval", "runs": runs,
                "summary": summarise(runs, variants), "command": " && ".join(commands),
                "provenance": provenance.collect() | {"commit": commit},
                "session_wall_seconds": round(time.perf_counter() - started, 1)})


if __name__ == "__main__":
    main()
