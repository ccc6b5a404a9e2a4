"""The ablation study (``results/ablations.json``, written by ``bench/ablate.py``) as chapter 7 shows it: a
forest plot of each change's effect with its 95% interval, a table, and one sentence per change whose numbers
and verdict come from the file (the prose around it types none)."""
from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from .. import provenance, records
from .published import probed_layers

PATH = records.FOLDER.parent / "ablations.json"
GROUPS = ("keras-io bugs", "augmentations", "network", "projector and loss", "training", "evaluation")
MEASURES = {"linear": "linear probe", "knn": "kNN"}

# What the literature reports for a change, as the direction it expects (-1: worse, +1: better, 0: no
# difference) and the source; the chapter says whether this study agrees, disagrees or cannot tell.
LITERATURE = {
    "no-crop": (-1, "SimCLR's ablation (Chen et al., 2020) found random cropping the one augmentation no other "
                    "can replace"),
    "no-jitter": (-1, "SimCLR (Chen et al., 2020) found colour distortion second only to cropping, and the Barlow "
                      "Twins paper reports its method less robust than BYOL to removing augmentations"),
    "batch-128": (0, "the Barlow Twins paper reports a small drop from batch 2048 down to 256, far smaller than "
                     "SimCLR's"),
    "projector-512": (-1, "the Barlow Twins paper finds accuracy rising with the projector's width up to 16,384"),
    "probe-projector": (-1, "SimCLR (Chen et al., 2020) and the Barlow Twins paper probe the backbone: the "
                            "projector's output is made invariant to the augmentations and loses information"),
}


def load(path=PATH) -> dict | None:
    path = Path(path)
    return json.loads(path.read_text()) if path.exists() else None


def ordered(result: dict) -> list[str]:
    """The compared variants (not the base), group by group in ``GROUPS`` order, as the study lists them."""
    s = result["summary"]
    names = [n for n in s if n != "base" and n != s[n]["against"]]
    return sorted(names, key=lambda n: GROUPS.index(s[n]["group"]) if s[n]["group"] in GROUPS else len(GROUPS))


def verdict(diff: dict) -> str:
    if diff.get("low") is None:
        return "one seed: no interval"
    if diff["noise"]:
        return "noise"
    return "better" if diff["mean"] > 0 else "worse"


def forest(result: dict, measure: str = "linear"):
    """Each change's difference from the variant it is compared with (points), with its 95% interval; grey where
    the interval spans zero (noise at this budget)."""
    s, names = result["summary"], ordered(result)
    fig, ax = plt.subplots(figsize=(8.5, 0.34 * len(names) + 1.3))
    for i, n in enumerate(names):
        d = s[n][measure].get("difference")
        if not d:
            continue
        real = d.get("low") is not None and not d["noise"]
        colour = ("C3" if d["mean"] < 0 else "C2") if real else "0.55"
        if d.get("low") is not None:
            ax.plot([100 * d["low"], 100 * d["high"]], [i, i], color=colour, lw=2)
        ax.plot(100 * d["mean"], i, "o", color=colour, ms=6)
    ax.axvline(0, color="k", lw=0.8)
    ax.set_yticks(range(len(names)), [f"{n}  (vs {s[n]['against']})" for n in names], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(f"{MEASURES[measure]} accuracy difference, validation split (points; 95% interval)")
    seeds = sorted({len(s[n]["seeds"]) for n in s})
    ax.set_title(f"One change at a time, {result['epochs']} epochs each, seeds per variant: "
                 f"{'-'.join(map(str, seeds))} (grey: noise or a single seed)", fontsize=9)
    fig.tight_layout()
    return fig


# The base is the recipe the study began from (the file's base_recipe), whatever the recipe has taken since;
# the study's file describes it as "the base recipe as it stands", true only on the day it was written.
BASE_WHAT = "the base recipe as it stood when the study began"


def rows(result: dict) -> list[dict]:
    """The table: every variant's mean and spread of both measures, its difference with interval, its cost."""
    s, fastest = result["summary"], {}
    for r in result["runs"]:  # other work on the same cores slows a run, never speeds it up
        fastest[r["variant"]] = min(fastest.get(r["variant"], r["train_s"]), r["train_s"])
    out = []
    for n in ["base", *ordered(result)]:
        e = s[n]
        row = {"variant": n, "what it changes": BASE_WHAT if n == "base" else e["what"], "seeds": len(e["seeds"]),
               "train s": round(fastest[n])}
        for key, label in (("knn", "kNN"), ("linear", "linear")):
            m = e[key]
            row[f"{label} %"] = f"{100 * m['mean']:.1f}" + (f" ± {100 * m['sd']:.1f}" if m["sd"] is not None else "")
            d = m.get("difference")
            if d:
                interval = f" [{100 * d['low']:+.1f}, {100 * d['high']:+.1f}]" if d.get("low") is not None else ""
                row[f"{label} diff."] = f"{100 * d['mean']:+.1f}{interval} {verdict(d)}"
        out.append(row)
    return out


def missing() -> str:
    return ("*No ablation study yet: `python bench/ablate.py --data DIR --epochs 3 --seeds 0 1 2 --out "
            "results/ablations.json` writes it (a folder of labelled images, DIR/train/<class>/...).*")


def describe(result: dict) -> str:
    """The study in a few lines: base, budget, seeds, data and split, how far the base moved from random init,
    the command and where it ran; and whether every planned run is in."""
    s = result["summary"]
    seeds = sorted({r["seed"] for r in result["runs"]})
    short = [n for n in s if len(s[n]["seeds"]) < len(seeds)]
    init = random_init(result)
    lines = [f"- **Base**: the `{result['base']}` recipe, {result['epochs']} epochs per run, seeds "
             f"{', '.join(map(str, seeds))}; {len(result['runs'])} measurements of {len(s)} variants"
             + (f" ({', '.join(short)}: fewer seeds so far)" if short else "") + ".",
             f"- **Data**: {result['data']}",
             f"- **Probe**: {probe(result)}, the base recipe's own when the study ran; a change that moves the probe "
             "says so in its row.",
             f"- **Summary**: {summary_line(result)}"]
    if init:
        base = s["base"]
        lines.append(f"- **Budget**: the base reaches {100 * base['linear']['mean']:.1f}% linear and "
                     f"{100 * base['knn']['mean']:.1f}% kNN, against {100 * init[0]:.1f}% and {100 * init[1]:.1f}% "
                     "for the same network at random init.")
    lines += [f"- **Command**: `{result['command']}`", f"- **Ran on**: {provenance.describe(result['provenance'])}"]
    return "\n".join(lines)


def findings(result: dict, *groups: str) -> str:
    """The sentences of the changes in ``groups``, as a Markdown list."""
    names = [n for n in ordered(result) if result["summary"][n]["group"] in groups]
    return "\n".join(sentence(result, n) for n in names) or "*No change of this kind measured yet.*"


def probe(result: dict) -> str:
    """The features the study's probes read: its base recipe's, as saved in the file (the recipe may probe
    others since)."""
    return probed_layers(result["base_recipe"]["model"])


def cite(result: dict | None, *names: str) -> str:
    """What a chapter prints where it makes a claim the study tests: the measured effect, with its verdict."""
    if result is None:
        return missing()
    said = [f"`{n}` {_said(result['summary'][n]['linear']['difference'])}" for n in names
            if n in result["summary"] and result["summary"][n]["linear"].get("difference")]
    if not said:
        return "*Not measured by the ablation study yet.*"
    seeds = len(result["summary"]["base"]["seeds"])
    return (f"Measured in chapter 7 (linear probe on {probe(result)}, {result['epochs']} epochs, {seeds} "
            f"seed{'s' * (seeds != 1)}): "
            + "; ".join(said) + ".")


def _said(d: dict) -> str:
    v = verdict(d)
    points = f"{100 * d['mean']:+.1f} points"
    if d.get("low") is None:
        return f"{points} (one seed each: no interval yet)"
    span = f"95% interval {100 * d['low']:+.1f} to {100 * d['high']:+.1f}"
    return f"{points} ({span}): " + {"noise": "noise at this budget", "better": "a real gain",
                                     "worse": "a real loss"}[v]


def sentence(result: dict, name: str) -> str:
    """One Markdown bullet: what the change does to the linear probe and to kNN, and how that sits with the
    literature where it has a finding."""
    e = result["summary"][name]
    lin, knn = e["linear"].get("difference"), e["knn"].get("difference")
    if not lin:
        return f"- **{name}** ({e['what']}): not measured yet."
    text = f"- **{name}**: {e['what']} (against `{e['against']}`). Linear probe {_said(lin)}; kNN {_said(knn)}."
    if name in LITERATURE:
        expected, source = LITERATURE[name]
        found = verdict(lin)
        if found == "one seed: no interval":
            said = "too few seeds yet to compare"
        elif found == "noise":
            said = ("as expected" if expected == 0 else "this budget cannot tell: a few epochs may be too short for "
                    "the difference to show")
        else:
            said = "this study agrees" if (found == "better") == (expected > 0) and expected != 0 else \
                "this study disagrees: a few epochs of a narrow network on 16 px views are far from the paper's " \
                "scale, and what matters there need not matter here"
        text += f" Literature: {source}; {said}."
    return text


def summary_line(result: dict) -> str:
    """How many changes were measured, and how many of them are real at this budget on the linear probe."""
    names = ordered(result)
    verdicts = [verdict(result["summary"][n]["linear"]["difference"]) for n in names
                if result["summary"][n]["linear"].get("difference")]
    real = sum(v in ("better", "worse") for v in verdicts)
    single = len(verdicts) - real - verdicts.count("noise")
    return (f"{len(verdicts)} changes measured; on the linear probe {real} differ from their reference by more "
            f"than the seeds' noise and {verdicts.count('noise')} do not"
            + (f"; {single} have one seed so far" if single else "") + ".")


def random_init(result: dict) -> tuple[float, float] | None:
    """The base's mean (linear, kNN) accuracy at random init: how far training moved it at this budget."""
    rows_ = [r["random_init"] for r in result["runs"] if r["variant"] == "base" and r.get("random_init")]
    if not rows_:
        return None
    return float(np.mean([r["linear"] for r in rows_])), float(np.mean([r["knn"] for r in rows_]))
