"""The CPU recipes' targets beside what their records and the CPU profile measured (the results page).

Each target is a bound on one number of a result file; a row says what was measured, on which split, and
whether the target was reached; an accuracy target of a recipe trained with several seeds (``seeds``) also
gives their mean and spread, and whether the mean reaches it. A target with no file behind it yet says so,
never a guess.
"""
from __future__ import annotations

import json

from .. import records
from . import seeds
from .report import RESULTS

PROFILE = "bench-cpu-profile.json"
PROFILE_KEY = "fastest: the library's default threads: the training path as % of the float32 roof"
# (recipe, what, where: "record" or the profile, key path in it, bound (negative: at most), unit)
TARGETS = (
    ("cpu", "linear probe, test split", "record", ("evaluations", "linear", "accuracy"), 0.70, "%"),
    ("cpu", "kNN, test split", "record", ("evaluations", "knn", "accuracy"), 0.62, "%"),
    ("cpu", "training time on 2 CPU cores", "record", ("train_seconds",), -15 * 60, "min"),
    ("cpu-long", "linear probe, test split", "record", ("evaluations", "linear", "accuracy"), 0.80, "%"),
    ("cpu-long", "training time on 2 CPU cores", "record", ("train_seconds",), -120 * 60, "min"),
    ("cpu", "the training path's GFLOP/s as a share of the float32 matmul roof", PROFILE,
     ("summary", PROFILE_KEY), 65.0, "% of roof"),
)


def _fmt(value: float, unit: str) -> str:
    return {"%": f"{value:.1%}", "min": f"{value / 60:.1f} min"}.get(unit, f"{value:.1f}%")


def rows(folder=RESULTS) -> list[dict]:
    """One row per target: the bound ("at least" or, for a negative bound, "at most"), the measured value and
    its source, and whether it was reached."""
    found = {}  # (recipe, where) -> (how the page names the source, its data)
    for name in records.available():
        rec = records.load(name)
        if rec is not None and rec["split"] == "test":  # targets are on the test split only
            found.setdefault((rec["recipe"], "record"), (f"record `{name}`", rec.data))
    if (folder / PROFILE).exists():
        found[("cpu", PROFILE)] = (f"results/{PROFILE}", json.loads((folder / PROFILE).read_text()))
    out = []
    for recipe, what, where, path, bound, unit in TARGETS:
        source, value = found.get((recipe, where), ("", None))
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        at_most = bound < 0
        row = {"recipe": recipe, "target": what,
               "bound": ("at most " if at_most else "at least ") + _fmt(abs(bound), unit)}
        if value is None:
            row |= {"measured": "not measured yet", "source": "", "reached": ""}
        else:
            row |= {"measured": _fmt(value, unit), "source": source,
                    "reached": "yes" if (value <= -bound if at_most else value >= bound) else "no"}
        spread = seeds.load(recipe, folder) if where == "record" and path[0] == "evaluations" else None
        if spread is not None:  # the record is one seed: its recipe's mean and spread over several, if measured
            mean = spread["summary"][path[1]]["mean"] / 100
            row["over seeds"] = (f"{seeds.spread(spread, path[1])} ({len(spread['seeds'])} seeds): the mean "
                                 + ("reaches it" if mean >= bound else "misses it"))
        out.append(row)
    return out
