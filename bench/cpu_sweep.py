"""The `cpu` recipe's levers at one wall-clock budget on this machine's CPU cores, several seeds each.

    python bench/cpu_sweep.py --data cifar10-jpeg --minutes 3 --seeds 0 --out results/cpu-sweep.json
    python bench/cpu_sweep.py --data cifar10-jpeg --minutes 3 --seeds 0 1 2 --variants base width-24 \
        --out results/cpu-sweep.json

Each variant changes a few fields of the sweep's base (``VARIANTS``): the `cpu` recipe as it was when the
result file was started, kept in the file as ``base_recipe``, so a sweep continued after the recipe took a
winning lever still compares with the same base. It trains for as many epochs as fit
in the budget at its own speed. That speed is measured once per network, batch and view sides, at each
budget (a few timed steps, ``calibrate``, in ``ROUNDS`` alternating with the base's, every variant named
timed before any training starts; variants that change only lambda or the learning rate share it)
and kept in the result file, so a resumed or extended sweep trains the same epochs (a variant that a
file from before shared timings timed alone, into other epochs than its equal-cost peer, is measured again
when it is named: ``unequal_budget``). Every
setting is judged on the validation split carved from the training images (the last tenth of each class):
the folder's test split is never read. The kNN monitor is off during sweep runs (it costs the same for
every variant and says nothing the final kNN does not). Each run's backbone features are extracted once:
kNN uses every training image, the linear probe a class-balanced ``PROBE_IMAGES`` of them (the full probe on
45,000 images costs more than the 3-minute training it would judge).

Each run names the CPU that trained it (``cpu``): a file extended on another machine keeps the base's budget
(the timing beside the base scales to the base's day) but not its wall times. Files from before runs named it
were each written on one machine; their runs take the CPU the file's provenance names when first extended.

The result file is rewritten whole after each run (a kill leaves the previous complete file); runs already
in it are skipped, and a run killed halfway resumes from its folder under ``--work`` (at the epochs the
file's timings, written before any training, gave it). One process at a time sweeps a ``--work`` folder.
``--forget NAME`` drops a variant's timing, runs and folders first (the command stays in the file's command
chain).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import time
from pathlib import Path

import _common  # quiets TensorFlow; the command line a result file records
import numpy as np
from barlow_lib import data, evaluate, models, provenance, recipes, train
from barlow_lib.files import read_json, write_json

BASE = "cpu"
# name -> (what it tests, changes to the base recipe in Recipe.replace's form)
VARIANTS = {
    "base": ("the recipe the sweep started from (the file's base_recipe)", {}),
    "view-24": ("24 px views (base: 16)", {"augment": {"output_size": 24}}),
    "view-32": ("full-size 32 px views", {"augment": {"output_size": None}}),
    "width-24": ("first stage 24 filters wide (base: 16)", {"model": {"width": 24}}),
    "width-32": ("first stage 32 filters wide", {"model": {"width": 32}}),
    "depth-18": ("ResNet-18 (base: ResNet-10)", {"model": {"depth": 18}}),
    "projector-2048": ("projector 2048-2048 (base: 1024-1024)", {"model": {"projector": (2048, 2048)}}),
    "projector-512": ("projector 512-512", {"model": {"projector": (512, 512)}}),
    "projector-3x1024": ("three projector layers of 1024", {"model": {"projector": (1024, 1024, 1024)}}),
    "lambda-x2": ("lambda 0.0102 (base: 0.0051)", {"lambd": 0.0102}),
    "lambda-x0.5": ("lambda 0.00255", {"lambd": 0.00255}),
    "batch-128": ("batch 128 (base: 256)", {"batch_size": 128}),
    "batch-512": ("batch 512", {"batch_size": 512}),
    "lr-x2": ("learning rate 0.02 (base: 0.01)", {"learning_rate": 0.02}),
    "lr-x0.5": ("learning rate 0.005", {"learning_rate": 0.005}),
    "crop-0.35": ("crops from 0.35 of the side (base: 0.5)", {"augment": {"crop_min": 0.35}}),
    "progressive-24": ("16 px views, the last quarter of the epochs 24 px", {"view_schedule": ((0.75, 24),)}),
    "progressive-32": ("16 px views, the last fifth of the epochs 32 px", {"view_schedule": ((0.8, 32),)}),
    "probe-2x2": ("the same training, probed on the last stage averaged to a 2x2 grid (512 features; base: "
                  "the global average, 128)", {"model": {"probe_grid": 2}}),
    "probe-4x4": ("the same training, probed on the last stage's whole 4x4 map (2,048 features)",
                  {"model": {"probe_grid": 4}}),
    "view-24-probe-4x4": ("view-24's training, probed on the last stage's whole 4x4 map (the probe the cpu recipe "
                          "took)", {"augment": {"output_size": 24}, "model": {"probe_grid": 4}}),
    "width-24-probe-4x4": ("width-24's training, probed on the last stage's whole 4x4 map (3,072 features)",
                           {"model": {"width": 24, "probe_grid": 4}}),
    "probe-stage-3": ("the same training, probed on the third stage's map averaged to a 4x4 grid (1,024 features) "
                      "instead of the last stage's", {"model": {"probe_grid": 4, "probe_stages": (3,)}}),
    "probe-stages-3-4": ("the same training, probed on the third and the last stage's maps, each averaged to a 4x4 "
                         "grid, side by side (3,072 features)", {"model": {"probe_grid": 4, "probe_stages": (3, 4)}}),
    "multicrop-2x8": ("multi-crop: two more views per image, 8 px, crops of 0.25-0.5 of the side (base: two "
                      "16 px views)", {"small_crops": 2}),
    "lars": ("LARS at solo-learn's CIFAR-10 settings: learning rate 0.3, trust coefficient 0.02 (base: LAMB, 0.01)",
             {"optimizer": "lars", "learning_rate": 0.3}),
    "ema-0.99": ("evaluated on a moving average of the weights, momentum 0.99 per step (base: the last weights)",
                 {"ema_momentum": 0.99}),
    "budget-x0.5": ("the base given half the budget: half its epochs, on a schedule of that length",
                    {"budget_share": 0.5}),
    "budget-x0.5-probe-4x4": ("budget-x0.5's training, probed on the last stage's whole 4x4 map",
                              {"budget_share": 0.5, "model": {"probe_grid": 4}}),
}
# ``budget_share`` in a variant's changes is not a recipe setting: the variant trains the base's epochs times
# the share (what the rest of the budget would buy), timed as the base.
# Settings that change only what is measured, not what is trained: a variant that changes only these is
# judged on the run folder of the variant that trains the same (``trained_as``), not trained again.
EVALUATION_ONLY = {"model": ("probe_grid", "probe_stages")}
SWEEP_SETTINGS = {"knn_every": 0}  # every sweep run: no kNN monitor
PROBE_IMAGES = 10_000


def features(backbone, ds: data.Dataset) -> tuple:
    """The backbone's features of the training and the evaluation images, extracted once."""
    return tuple(evaluate.extract_features(backbone, x) for x in (ds.x_train, ds.x_eval))


def measure(backbone, ds: data.Dataset, extracted: tuple | None = None) -> dict:
    """kNN (all training images) and linear probe (PROBE_IMAGES of them) on one extraction of the features
    (``extracted``: features already made, e.g. a projector's output)."""
    f_train, f_eval = extracted or features(backbone, ds)
    probe = evaluate.label_subset(ds.y_train, min(1.0, PROBE_IMAGES / len(ds.y_train)))
    return {p: round(evaluate.evaluate_features(p, f[0], f[1], f_eval, ds.y_eval)["accuracy"], 4)
            for p, f in (("knn", (f_train, ds.y_train)), ("linear", (f_train[probe], ds.y_train[probe])))}


def variant_recipe(name: str, epochs: int | None = None, base: recipes.Recipe | None = None) -> recipes.Recipe:
    """``base`` (default: the `cpu` recipe today) with the variant's changes: a result file keeps the base it
    was started from (``base_recipe``), so a sweep continued after the recipe changed still compares like
    with like."""
    changes = {k: v for k, v in VARIANTS[name][1].items() if k != "budget_share"} | SWEEP_SETTINGS
    if epochs is not None:
        changes["epochs"] = epochs
    return (base or recipes.get(BASE)).replace(**changes).check()


def budget_share(name: str) -> float:
    """The share of the budget's epochs the variant trains (1: the whole budget)."""
    return VARIANTS[name][1].get("budget_share", 1)


def training_of(name: str, base: recipes.Recipe | None = None) -> dict:
    """The variant's recipe without the settings that change only what is measured (``EVALUATION_ONLY``), and
    the share of the budget it trains for."""
    d = variant_recipe(name, base=base).to_dict() | {"budget_share": budget_share(name)}
    for part, keys in EVALUATION_ONLY.items():
        d[part] = {k: v for k, v in d[part].items() if k not in keys}
    return d


def trained_as(name: str, base: recipes.Recipe | None = None) -> str:
    """The variant whose run folder holds ``name``'s training: the first in ``VARIANTS`` that trains the same."""
    return next(other for other in VARIANTS if training_of(other, base) == training_of(name, base))


def cost_signature(name: str, base: recipes.Recipe | None = None) -> str:
    """What a variant's speed depends on: the network, the batch, the view sides and multi-crop's small views
    (not lambda, nor the learning rate, nor what is probed): variants that share it share one calibration, so
    they train the same epochs."""
    d = training_of(name, base)
    return json.dumps([d["model"], d["batch_size"], d["augment"]["output_size"], d["view_schedule"],
                       d["small_crops"], d["small_crop_size"], d["budget_share"]])


def calibrate(recipe: recipes.Recipe, ds: data.Dataset, steps: int = 8, warmup: int = 3) -> float:
    """Training pairs per second of ``recipe`` on ``ds``: ``steps`` timed ``train_on_batch`` calls after ``warmup``."""
    from barlow_lib.backends import keras

    recipe = train.prepare(recipe, ds)
    keras.backend.clear_session()
    twin = models.build_twin(recipe, steps_per_epoch=len(ds.x_train) // recipe.batch_size)
    inputs = train.epoch_inputs(ds.x_train, recipe.batch_size, 0, 0, recipe.views)
    batch = {k: v[: recipe.batch_size] for k, v in inputs.items()}
    for _ in range(warmup):
        twin.train_on_batch(batch)
    t = time.perf_counter()
    for _ in range(steps):
        twin.train_on_batch(batch)
    return steps * recipe.batch_size / (time.perf_counter() - t)


def view_sides(recipe: recipes.Recipe) -> list[int]:
    return sorted({recipe.augment.view_size, *(side for _, side in recipe.view_schedule)})


def epochs_for(budget_s: float, rates: dict, recipe: recipes.Recipe, n_train: int, overhead: float = 1.05) -> int:
    """The most whole epochs that fit in the budget at the measured pairs/s of each view side (``rates``);
    ``overhead``: shuffling, checkpoints and diagnostics between epochs."""
    pairs_per_epoch = n_train // recipe.batch_size * recipe.batch_size

    def cost(epochs):
        r = recipe.replace(epochs=epochs)
        return sum(pairs_per_epoch * overhead / rates[r.view_size_at(e)] for e in range(1, epochs + 1))

    epochs = 1
    while cost(epochs + 1) <= budget_s:
        epochs += 1
    return epochs


def validation_data(source: str, limit: int | None) -> data.Dataset:
    """The training images with a tenth of each class carved out as the validation split; test is dropped."""
    ds = data.load(source, limit=limit)
    if ds.eval_split == "test":
        ds = data.split_validation(ds.replace(x_eval=None, y_eval=None, eval_split=None))
    return ds


def summarise(runs: list[dict]) -> dict:
    """Per variant and budget ("name @ budget"): seeds, mean, sample standard deviation and standard error of
    each measure, and the cost."""
    out = {}
    for group in dict.fromkeys(f"{r['variant']} @ {r['budget']}" for r in runs):
        rows = [r for r in runs if f"{r['variant']} @ {r['budget']}" == group]
        name = rows[0]["variant"]
        entry = {"what": VARIANTS[name][0] if name in VARIANTS else "", "seeds": [r["seed"] for r in rows],
                 "epochs": rows[0]["epochs"],
                 "train_seconds_mean": round(float(np.mean([r["train_s"] for r in rows])), 1)}
        for key in ("knn", "linear"):
            values = np.array([r[key] for r in rows])
            sd = float(values.std(ddof=1)) if len(values) > 1 else None
            entry[key] = {"mean": round(float(values.mean()), 4), "sd": None if sd is None else round(sd, 4),
                          "sem": None if sd is None else round(sd / math.sqrt(len(values)), 4)}
        out[group] = entry
    return out


ROUNDS = 3  # timings of each side, alternating with the base's: the median of each


def calibrated(name: str, budget: str, minutes: float, calibration: dict, ds: data.Dataset,
               base: recipes.Recipe | None = None) -> dict:
    """``calibration[name @ budget]``: taken from a variant of the same cost (``cost_signature``) if one was
    timed at this budget, else measured now (each view side's pairs/s, then the epochs that fit). A variant
    timed after the base is timed alternately with the base, ``ROUNDS`` times, and its rates (medians) scaled
    by the base's: an equal budget is a ratio measured in one stretch, whatever the cores' speed that day (they
    ran 5x slower on some), and one short timing can be a third off (a base timed once beside ``width-32`` read
    1,519 pairs/s where it trained at 2,250, and gave the variant 23 epochs for 20 minutes of training)."""
    key = f"{name} @ {budget}"
    if key not in calibration and budget_share(name) != 1:  # the base's speed, a share of its epochs
        full = calibrated("base", budget, minutes, calibration, ds, base)
        calibration[key] = {"epochs": max(1, math.floor(full["epochs"] * budget_share(name))),
                            "share_of_base_epochs": budget_share(name)}
    if key not in calibration:
        same_cost = [k for k in calibration if k.endswith(f" @ {budget}") and k.split(" @ ")[0] in VARIANTS
                     and cost_signature(k.split(" @ ")[0], base) == cost_signature(name, base)]
        if same_cost:
            calibration[key] = dict(calibration[same_cost[0]])
        else:
            recipe = train.prepare(variant_recipe(name, base=base), ds)
            base_key = f"base @ {budget}"
            beside_base = name != "base" and base_key in calibration  # today's cores, not the base's day
            base_recipe = train.prepare(variant_recipe("base", base=base), ds) if beside_base else None
            timings, beside = [], []
            for _ in range(ROUNDS):
                timings.append({side: calibrate(recipe.replace(view_schedule=(), augment={"output_size": side}),
                                                ds) for side in view_sides(recipe)})
                if beside_base:
                    beside.append(calibrate(base_recipe, ds))
            rates = {side: float(np.median([t[side] for t in timings])) for side in view_sides(recipe)}
            calibration[key] = {"pairs_per_second": {f"{side} px": round(r, 1) for side, r in rates.items()},
                                "rounds": ROUNDS}
            if beside_base:
                side = base_recipe.augment.view_size
                factor = calibration[base_key]["pairs_per_second"][f"{side} px"] / float(np.median(beside))
                rates = {s: r * factor for s, r in rates.items()}
                calibration[key].update(base_pairs_per_second_beside=round(float(np.median(beside)), 1),
                                        scaled_to_base_day=round(factor, 3))
            calibration[key]["epochs"] = epochs_for(minutes * 60, rates, recipe, len(ds.x_train))
    return calibration[key]


def unequal_budget(name: str, budget: str, calibration: dict, base: recipes.Recipe | None = None) -> bool:
    """True where ``name`` was timed on its own at ``budget`` and got other epochs than the variant of the same
    cost timed before it (sweeps before shared timings: the noise of a few timed steps bought an epoch)."""
    key = f"{name} @ {budget}"
    if key not in calibration:
        return False
    for other in calibration:  # in the order they were timed
        if other == key:
            return False
        variant, at = other.split(" @ ")
        if at == budget and variant in VARIANTS and cost_signature(variant, base) == cost_signature(name, base):
            return calibration[other]["epochs"] != calibration[key]["epochs"]
    return False


def runs_with_cpu(result: dict) -> list[dict]:
    """The file's runs, each naming the CPU that trained it: a file written before runs named theirs was
    written by one machine, the one its provenance names."""
    runs = result.get("runs", [])
    if any("cpu" in r for r in runs):
        return runs
    return [dict(r, cpu=result["provenance"]["cpu"]) for r in runs]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True, help="a labelled image folder (DIR/train/<class>/...)")
    p.add_argument("--minutes", type=float, required=True, help="training budget of every run")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument("--limit", type=int, help="use only N training images (smoke runs)")
    p.add_argument("--work", default="sweep-runs", help="run folders (resumable)")
    p.add_argument("--forget", nargs="+", default=[], choices=list(VARIANTS), metavar="VARIANT",
                   help="drop these variants' timings and runs at this budget first (a measurement found wrong)")
    p.add_argument("--out", required=True)
    args = p.parse_args()
    _common.run_locked(args.work, lambda: sweep(args))  # error:/fix: lines; one process per --work


def sweep(args):
    started, commit = time.perf_counter(), provenance.git_commit()  # the code this process runs
    ds = validation_data(args.data, args.limit)
    result = read_json(args.out) if Path(args.out).exists() else {}
    calibration, runs = result.get("calibration", {}), runs_with_cpu(result)
    base = recipes.Recipe.from_dict(result["base_recipe"]) if "base_recipe" in result else recipes.get(BASE)
    command = _common.command_line("bench/cpu_sweep.py")
    commands = [c for c in result.get("command", "").split(" && ") if c and c != command] + [command]
    budget = f"{args.minutes:g} min"

    def forget(name, why):
        nonlocal runs
        calibration.pop(f"{name} @ {budget}", None)
        runs = [r for r in runs if (r["variant"], r["budget"]) != (name, budget)]
        for folder in Path(args.work, budget.replace(" ", "")).glob(f"{name}-s*"):
            shutil.rmtree(folder)
        print(f"{name} @ {budget}: {why}", flush=True)

    def write():
        write_json(args.out, {
            "title": f"The {BASE} recipe's levers at a fixed training budget", "base": BASE,
            "base_recipe": base.to_dict(), "sweep_settings": SWEEP_SETTINGS, "data": ds.describe(),
            "split": ds.eval_split, "probe_images": PROBE_IMAGES,
            "variants": {n: {"what": w, "changes": json.loads(json.dumps(c))} for n, (w, c) in VARIANTS.items()},
            "calibration": calibration, "runs": runs, "summary": summarise(runs), "command": " && ".join(commands),
            "provenance": provenance.collect() | {"commit": commit},
            "session_wall_seconds": round(time.perf_counter() - started, 1)})

    for name in args.forget:
        forget(name, "forgotten (--forget)")
    for name in args.variants:  # measured again at the epochs of its equal-cost peers, its folders retrained
        if unequal_budget(name, budget, calibration, base):
            forget(name, f"trained {calibration[f'{name} @ {budget}']['epochs']} epochs, unlike the variants of the "
                   "same cost: measured again")
    timed_before = json.dumps(calibration)
    for name in sorted(args.variants, key=lambda n: n != "base"):  # every timing first, the base's first, in
        calibrated(name, budget, args.minutes, calibration, ds, base)  # one stretch before any training
    if args.forget or json.dumps(calibration) != timed_before:  # new timings kept before any training: a sweep
        write()  # killed in its first run resumes at the same epochs (a finished sweep run again writes nothing)
    for seed in args.seeds:
        for name in args.variants:
            if any(r["variant"] == name and r["seed"] == seed and r["budget"] == budget for r in runs):
                continue
            epochs = calibrated(name, budget, args.minutes, calibration, ds, base)["epochs"]
            source = trained_as(name, base)  # a probe-only variant reuses (or first trains) that variant's folder
            t = time.perf_counter()
            run = train.train(variant_recipe(source, epochs, base), ds,
                              os.path.join(args.work, budget.replace(" ", ""), f"{source}-s{seed}"),
                              seed=seed, progress=False)
            train_s = sum(run.history()["seconds"])
            spec = variant_recipe(name, base=base).model

            def probed(random_init=False):
                return models.probed(run.load_backbone(random_init, seed), spec)

            row = {"variant": name, "seed": seed, "budget": budget, "epochs": epochs,
                   "train_s": round(train_s, 1), "wall_s": round(time.perf_counter() - t, 1), **measure(probed(), ds),
                   "overrides": json.loads(json.dumps(VARIANTS[name][1])), "commit": commit,
                   "cpu": provenance.cpu_name()}  # a file extended on another machine: which CPU trained each run
            if source != name:
                row["trained_as"] = source
            if name == "base" or source != name:  # the learning test's reference: the same network untrained
                row["random_init"] = measure(probed(random_init=True), ds)
            runs.append(row)
            print(json.dumps(row), flush=True)
            write()
    print(json.dumps(summarise(runs), indent=1))


if __name__ == "__main__":
    main()
