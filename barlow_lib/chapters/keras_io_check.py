"""Chapter 5's check of the keras-io recipe against the loss log the keras-io example printed.

The result file is ``bench/keras_io_epochs.py``'s: the recipe's first epochs of 160, once with this book's
augmentation fixes and once with the example's four bugs kept, each epoch's mean loss beside the published one.
"""
from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt

from .. import provenance
from . import keras_io_reference
from .report import RESULTS

FILE = "keras-io-epochs.json"
LABELS = {"fixed": "this book's keras-io recipe (bugs fixed)", "bugs-kept": "the same, the example's four bugs kept"}
RUNS = {"fixed": "with this book's fixes", "bugs-kept": "with the example's four bugs kept"}  # in a sentence


def load(folder=RESULTS) -> dict | None:
    path = Path(folder) / FILE
    return json.loads(path.read_text()) if path.exists() else None


def missing() -> str:
    return ("*No keras-io check yet: `python bench/keras_io_epochs.py --data cifar10 --epochs 5 --out "
            "results/keras-io-epochs.json` writes it (two runs of five epochs, about ten minutes an epoch on "
            "two CPU cores).*")


def describe(result: dict) -> str:
    """Which epochs, on what, with which command, where."""
    spans = ", ".join(f"{LABELS.get(n, n)}: {v['epochs']}" for n, v in result["variants"].items())
    prov = result["provenance"]
    return (f"{spans}. Data: {result['data']}  \nCommand: `{result['command']}`  \n"
            f"Trained on {provenance.describe(prov)}; {result.get('scheduling', 'normal priority')}.  \n"
            f"Published: {result['published_source']}")


def _percent(x: float) -> str:
    return f"{x:+.1%}"


def _loss(value: float) -> str:
    return f"{value:,.1f}"  # one decimal, as the example's log prints it (a table would drop a trailing .0)


def rows(result: dict) -> list[dict]:
    """A row per epoch: the published loss, then each variant's loss and its difference relative to it."""
    variants = result["variants"]
    n = min(v["epochs_done"] for v in variants.values())
    out = []
    for i in range(n):
        row = {"epoch": i + 1, "published": _loss(next(iter(variants.values()))["published_loss"][i])}
        for name, v in variants.items():
            row[name] = _loss(v["loss"][i])
            row[f"{name} vs published"] = _percent(v["relative_difference"][i])
        out.append(row)
    return out


def plot(result: dict):
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    variants = result["variants"]
    first = next(iter(variants.values()))
    epochs = range(1, len(first["published_loss"]) + 1)
    ax.plot(epochs, first["published_loss"], "-o", color="0.6", lw=5, ms=9,  # broad: a run on it stays visible
            label="the keras-io example's printed log")
    for (name, v), style in zip(variants.items(), ("C0-s", "C1--^"), strict=False):
        label = LABELS.get(name, name) + (": it runs along the log's line" if name == "bugs-kept" else "")
        ax.plot(range(1, len(v["loss"]) + 1), v["loss"], style, label=label)
    ax.set(xlabel="epoch (of 160)", ylabel="mean training loss of the epoch", xticks=list(epochs),
           title=f"The keras-io recipe, {first['epochs']}: this book's runs and the example's log")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _epoch_change(published: list[float], n: int) -> float:
    """The smallest relative change of the published loss from one epoch to the next within its first n epochs
    (from epoch 1 to 2 where n is 1)."""
    span = published[: max(n, 2)]
    return min(abs(b - a) / a for a, b in zip(span, span[1:], strict=False))


def verdict(result: dict) -> str:
    """What the runs show, in sentences computed from the file: how close each run stays to the printed log,
    against the log's own change from one epoch to the next, and how the fixed run sits against the control."""
    variants = result["variants"]
    log = keras_io_reference.published_log()["loss_per_epoch"]
    lines = []
    for name, v in variants.items():
        diffs, n = v["relative_difference"], v["epochs_done"]
        worst, step = max(abs(d) for d in diffs), _epoch_change(log, n)
        lines.append(f"The run {RUNS.get(name, name)} is at most {worst:.1%} from the printed loss in its {n} "
                     f"epochs: {'less' if worst < step else 'more'} than the printed log's own smallest change "
                     f"from one epoch to the next over those epochs ({step:.1%}).")
    if {"fixed", "bugs-kept"} <= set(variants):
        a, b = variants["fixed"]["loss"], variants["bugs-kept"]["loss"]
        gaps = [(x - y) / y for x, y in zip(a, b, strict=False)]
        span = f"({_percent(min(gaps, key=abs))} to {_percent(max(gaps, key=abs))})"
        if all(g > 0 for g in gaps):
            lines.append(f"The fixed run's loss is above the bugs-kept run's in every epoch both have {span}, and "
                         "the four fixes are the only setting that differs between them (same seed, data and "
                         "code). With the fixes the two views of an image differ more (flips twice as often, and "
                         "solarization, which the example never applied), so making their embeddings agree is "
                         "harder, and the same epoch ends at a higher loss. A higher pretext loss is not "
                         "worse features; chapter 7 measures what the bugs do to accuracy.")
        elif all(g < 0 for g in gaps):
            lines.append(f"The fixed run's loss is below the bugs-kept run's in every epoch both have {span}, and "
                         "the four fixes are the only setting that differs between them (same seed, data and "
                         "code).")
        else:
            lines.append(f"The fixed and bugs-kept runs cross ({_percent(min(gaps))} to {_percent(max(gaps))}): "
                         "no consistent difference between them at these epochs.")
    return " ".join(lines)
