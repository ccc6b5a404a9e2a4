"""A recipe trained with several seeds and scored on the test split (``results/<recipe>-seeds.json``, written
by ``bench/cpu_seeds.py``): the spread behind its record's one-seed figures, for the results page and
chapter 6."""
from __future__ import annotations

import json

from .report import RESULTS

PROBES = {"knn": "kNN", "linear": "linear"}


def load(recipe: str = "cpu", folder=RESULTS) -> dict | None:
    path = folder / f"{recipe}-seeds.json"
    return json.loads(path.read_text()) if path.exists() else None


def spread(result: dict, key: str) -> str:
    """"70.9 ± 0.4%": the mean and standard deviation over the seeds (the mean alone for one seed; a spread
    under 0.1 point keeps two decimals, so that it does not read as none)."""
    s = result["summary"][key]
    if s["sd"] is None:
        return f"{s['mean']:.1f}%"
    return f"{s['mean']:.1f} ± {s['sd']:.{2 if s['sd'] < 0.1 else 1}f}%"


def same_as_record(result: dict, rec: dict | None) -> bool:
    """Whether the file's seed of the record's run scored exactly what the record holds."""
    if rec is None:
        return False
    mine = next((s for s in result["seeds"] if s["seed"] == rec["config"]["seed"]), None)
    e = rec["evaluations"]
    return mine is not None and mine["split"] == rec["split"] and all(
        mine["accuracy"][k] == e[k]["accuracy"] for k in mine["accuracy"])


def _minutes_range(seeds: list[dict]) -> str:
    """" (fastest to slowest min)" where the seeds' training times differ by a tenth of a minute or more."""
    minutes = [s["train_seconds"] / 60 for s in seeds if s.get("train_seconds")]
    if len(minutes) < 2 or max(minutes) - min(minutes) < 0.1:
        return ""
    return f" ({min(minutes):.1f} to {max(minutes):.1f} min)"


def sentence(result: dict, rec: dict | None = None) -> str:
    """One line of Markdown: each probe's mean ± sd over the seeds, trained and at random init, and where the
    record stands among them."""
    seeds, first = result["seeds"], result["seeds"][0]
    names = ", ".join(str(s["seed"]) for s in seeds)
    figures = "; ".join(f"{name} {spread(result, key)} (random init {spread(result, key + '_random_init')})"
                        for key, name in PROBES.items())
    text = (f"The `{result['recipe']['name']}` recipe over {len(seeds)} seeds ({names}), each trained on "
            f"{first['n_train']:,} images and scored on the {first['split']} split ({first['n_eval']:,} "
            f"images): {figures}; mean ± standard deviation over the seeds, "
            f"{result['summary']['train_minutes']['mean']:.1f} min of training per seed on average"
            f"{_minutes_range(seeds)}.")
    if rec is not None:
        seed = rec["config"]["seed"]
        mine = next((s for s in seeds if s["seed"] == seed), {})
        if mine.get("record") == rec.name and same_as_record(result, rec):
            text += f" Seed {seed} is the record itself, its figures read from the record (not trained again)."
        elif same_as_record(result, rec):
            text += f" Seed {seed} is the record's run: the same figures to the last digit."
        elif any(s["seed"] == seed for s in seeds):
            text += (f" Seed {seed} here is the record's seed trained again, which did not reproduce the record's "
                     "figures exactly (another day's thread settings change the order of floating-point sums).")
        else:
            text += f" The record is a run of seed {seed}, not among these."
    return text
