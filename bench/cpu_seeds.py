"""A recipe trained with several seeds on every training image, each seed scored on the test split: the
spread behind its record's one-seed figure.

    python bench/cpu_seeds.py --data cifar10-jpeg --recipe cpu --seeds 0 1 2 --out results/cpu-seeds.json
    python bench/cpu_seeds.py --data cifar10-jpeg --recipe cpu --record cpu --seeds 1 2 --out results/cpu-seeds.json

Each seed trains as ``barlow-twins train --recipe R --data D --seed S`` does, into ``--work/seed-S`` (a run
killed halfway resumes from its folder; a finished one is only scored), and is scored as its record is: kNN
and the linear probe on the features the recipe probes, trained and at random init, on the evaluation split
the data gives (the test split of a folder that has one). Nothing is chosen here: the recipe's settings were
chosen on a validation split before. The result file is rewritten whole after each seed (a kill leaves the
previous complete file), seeds already in it are skipped (``--record NAME`` counts a record of the recipe
as its seed, its figures read from the record), and ``command`` chains every command that added
seeds, in order.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import _common  # quiets TensorFlow; the command line a result file records
import numpy as np
from barlow_lib import data, provenance, recipes, records, train
from barlow_lib.errors import BarlowError
from barlow_lib.files import read_json, write_json

PROTOCOLS = ("knn", "linear")


def score(run, ds) -> dict:
    """The run's kNN and linear-probe accuracy, trained and at random init, as its record measures them."""
    return {f"{p}{'_random_init' if untrained else ''}": round(run.evaluate(p, ds, random_init=untrained)
                                                              ["accuracy"], 4)
            for untrained in (False, True) for p in PROTOCOLS}


def summary(seeds: list[dict]) -> dict:
    """Mean and sample standard deviation (ddof 1; none for one seed) of each figure over the seeds, in %."""
    out = {}
    for key in seeds[0]["accuracy"]:
        values = np.array([s["accuracy"][key] for s in seeds]) * 100
        out[key] = {"mean": round(float(values.mean()), 2),
                    "sd": round(float(values.std(ddof=1)), 2) if len(values) > 1 else None}
    out["train_minutes"] = {"mean": round(float(np.mean([s["train_seconds"] for s in seeds])) / 60, 1)}
    return out


def from_record(result: dict, name: str, recipe) -> dict:
    """Count the record ``name`` (results/runs/NAME) as its seed: its figures read from it, not measured again.
    Returns the record."""
    rec = records.load(name)
    if rec is None or not recipe.trains_as(rec["config"]["recipe"]):
        raise BarlowError(f"{name!r} is not a record of today's {recipe.name!r} recipe.",
                          f"name a record in results/runs/ that `--recipe {recipe.name}` wrote, or drop --record")
    seed = rec["config"]["seed"]
    result["seeds"] = [s for s in result["seeds"] if s["seed"] != seed] + [{
        "seed": seed, "split": rec["split"], "n_train": rec["n_train"], "n_eval": rec["n_eval"],
        "train_seconds": rec["train_seconds"], "record": name,
        "accuracy": {f"{p}{suffix}": rec["evaluations"][f"{p}{suffix}"]["accuracy"]
                     for suffix in ("", "_random_init") for p in PROTOCOLS},
        "provenance": rec["provenance"]["run"]}]
    result["seeds"].sort(key=lambda s: s["seed"])
    return rec


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="a folder with train/ and test/ (cifar10-jpeg), or cifar10")
    p.add_argument("--recipe", default="cpu")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--work", default="runs/cpu-seeds", help="one run folder per seed")
    p.add_argument("--epochs", type=int, help="default: the recipe's (fewer: a smoke-scale check of the script)")
    p.add_argument("--limit", type=int, help="training images (default: all)")
    p.add_argument("--record", help="a record of the recipe (results/runs/NAME) that counts as its seed, read "
                                    "from it instead of trained and scored again")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    _common.run_locked(args.work, lambda: seeds(args))  # error:/fix: lines; one process per --work


def seeds(args):
    recipe = recipes.get(args.recipe)
    recipe = recipe.replace(epochs=args.epochs or recipe.epochs).check()
    out = Path(args.out)
    result = read_json(out) if out.exists() else {"recipe": recipe.to_dict(), "seeds": []}
    if not recipe.trains_as(result["recipe"]):
        raise BarlowError(f"{out} holds seeds of another {args.recipe!r} recipe than today's.",
                          "write to another --out, or delete that file to start again")
    started = time.perf_counter()

    def save(data_described: dict) -> None:
        """The file rewritten whole, with this command chained and the summary of every seed in it."""
        nonlocal started
        command = _common.command_line("bench/cpu_seeds.py")
        chain = [c for c in result.get("command", "").split(" && ") if c and c != command] + [command]
        wall = round(result.get("wall_seconds", 0) + time.perf_counter() - started, 1)
        result.update(command=" && ".join(chain), summary=summary(result["seeds"]), data=data_described,
                      provenance=provenance.collect(), wall_seconds=wall)
        started = time.perf_counter()
        write_json(out, result)

    if args.record:
        rec = from_record(result, args.record, recipe)
        save(result.get("data") or rec["data"])  # saved now: every other seed may be in the file already
    for seed in args.seeds:
        if any(s["seed"] == seed for s in result["seeds"]):
            continue
        ds = data.load(args.data, limit=args.limit, seed=seed)  # as `barlow-twins train --seed` loads it
        t0 = time.perf_counter()
        run = train.train(recipe, ds, Path(args.work) / f"seed-{seed}", seed=seed, progress=True)
        train_seconds = run.provenance()["train_seconds"]
        entry = {"seed": seed, "split": ds.eval_split, "n_train": len(ds.y_train), "n_eval": len(ds.y_eval),
                 "train_seconds": train_seconds, "accuracy": score(run, ds),
                 "seconds": round(time.perf_counter() - t0, 1), "provenance": run.provenance()}
        print(f"seed {seed}: {entry['accuracy']}")
        result["seeds"].append(entry)
        save(ds.describe())
    print(result.get("summary"))


if __name__ == "__main__":
    main()
