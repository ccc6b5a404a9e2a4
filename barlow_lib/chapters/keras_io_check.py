"""Chapter 5's check of the keras-io recipe against the loss log the keras-io example printed.

The result file is ``bench/keras_io_epochs.py``'s: the recipe's first epochs of 160, once with this book's
augmentation fixes and once with the example's four bugs kept, each epoch's mean loss beside the published one.
"""
from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt

from .. import provenance
from .report import RESULTS

FILE = "keras-io-epochs.json"
LABELS = {"fixed": "this book's keras-io recipe (bugs fixed)", "bugs-kept": "the same, the example's four bugs kept"}


def load(folder=RESULTS) -> dict | None:
    path = Path(folder) / FILE
    return json.loads(path.read_text()) if path.exists() else None


def missing() -> str:
    return ("*No keras-io check yet: `python bench/keras_io_epochs.py --data cifar10 --epochs 5 --out "
            "results/keras-io-epochs.json` writes it (about an hour on two CPU cores).*")


def describe(result: dict) -> str:
    """Which epochs, on what, with which command, where."""
    spans = ", ".join(f"{LABELS.get(n, n)}: {v['epochs']}" for n, v in result["variants"].items())
    prov = result["provenance"]
    return (f"{spans}. Data: {result['data']}  \nCommand: `{result['command']}`  \n"
            f"Trained on {provenance.describe(prov)}; {result.get('scheduling', 'normal priority')}.  \n"
            f"Published: {result['published_source']}")


def _percent(x: float) -> str:
    return f"{x:+.1%}"


def rows(result: dict) -> list[dict]:
    """A row per epoch: the published loss, then each variant's loss and its difference relative to it."""
    variants = result["variants"]
    n = min(v["epochs_done"] for v in variants.values())
    out = []
    for i in range(n):
        row = {"epoch": i + 1, "published": next(iter(variants.values()))["published_loss"][i]}
        for name, v in variants.items():
            row[name] = v["loss"][i]
            row[f"{name} vs published"] = _percent(v["relative_difference"][i])
        out.append(row)
    return out


def plot(result: dict):
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    variants = result["variants"]
    first = next(iter(variants.values()))
    epochs = range(1, len(first["published_loss"]) + 1)
    ax.plot(epochs, first["published_loss"], "k-o", lw=2, label="the keras-io example's printed log")
    for (name, v), style in zip(variants.items(), ("C0-s", "C1--^"), strict=False):
        ax.plot(range(1, len(v["loss"]) + 1), v["loss"], style, label=LABELS.get(name, name))
    ax.set(xlabel="epoch (of 160)", ylabel="mean training loss of the epoch", xticks=list(epochs),
           title=f"The keras-io recipe, {first['epochs']}: this book's runs and the example's log")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def summary(result: dict) -> str:
    """What the numbers say, in a sentence each: the largest gap to the published log, and between the runs."""
    variants = result["variants"]
    lines = []
    for name, v in variants.items():
        diffs = v["relative_difference"]
        worst = max(range(len(diffs)), key=lambda i: abs(diffs[i]))
        lines.append(f"{LABELS.get(name, name)}, {v['epochs']}: from {_percent(diffs[0])} at epoch 1 to "
                     f"{_percent(diffs[-1])} at epoch {len(diffs)} (largest gap {_percent(diffs[worst])}, "
                     f"epoch {worst + 1}).")
    if {"fixed", "bugs-kept"} <= set(variants):
        a, b = variants["fixed"]["loss"], variants["bugs-kept"]["loss"]
        gaps = [(x - y) / y for x, y in zip(a, b, strict=False)]
        lines.append(f"The fixed run against the bugs-kept run: {_percent(min(gaps))} to {_percent(max(gaps))}.")
    return "\n".join(lines)
