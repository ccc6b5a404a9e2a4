"""The CPU recipe sweep (``results/cpu-sweep.json``, written by ``bench/cpu_sweep.py``) as the results page
shows it: each variant's accuracy against the base recipe's, with every seed drawn, and a table."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np


def load(path=None) -> dict | None:
    """The sweep's result file (default: the repository's ``results/cpu-sweep.json``, wherever the page runs)."""
    from .report import RESULTS

    path = Path(path) if path is not None else RESULTS / "cpu-sweep.json"
    return json.loads(path.read_text()) if path.exists() else None


def budgets(result: dict) -> list[str]:
    """The budgets the sweep ran at ("3 min", ...), shortest first."""
    return sorted(dict.fromkeys(r["budget"] for r in result["runs"]), key=lambda b: float(b.split()[0]))


# The base is the recipe the sweep began from (the file's base_recipe), whatever the recipe has taken since;
# older files describe it as "the cpu recipe as it stands", true only on the day they were written.
BASE_WHAT = "the recipe as it stood when the sweep began"


def what(result: dict, name: str) -> str:
    """What a variant changes, as the file describes it (the base: ``BASE_WHAT``)."""
    return BASE_WHAT if name == "base" else result["variants"].get(name, {}).get("what", "")


def by_variant(result: dict, budget: str) -> dict:
    """{variant: [runs]} at one budget, the base recipe first, then by mean linear accuracy (best first)."""
    groups = {}
    for r in result["runs"]:
        if r["budget"] == budget:
            groups.setdefault(r["variant"], []).append(r)
    order = sorted(groups, key=lambda n: (n != "base", -np.mean([r["linear"] for r in groups[n]])))
    return {n: groups[n] for n in order}


def figure(result: dict, budget: str):
    """Per variant, each seed's kNN and linear accuracy (dots) and their mean (a diamond, with the seeds'
    standard deviation where there are 2+); dashed: the base's mean; dotted: the base's networks at random init."""
    groups = by_variant(result, budget)
    names = list(groups)
    fig, axes = plt.subplots(1, 2, figsize=(8, 0.3 * len(names) + 1.4), sharey=True)  # a page's width: legible
    for ax, key, label in zip(axes, ("knn", "linear"), ("kNN", "linear probe")):
        shown = []
        for i, n in enumerate(names):
            values = np.array([r[key] for r in groups[n]]) * 100
            ax.plot(values, np.full(len(values), i), ".", color="0.55", ms=5)
            ax.errorbar(values.mean(), i, xerr=values.std(ddof=1) if len(values) > 1 else None, fmt="D", ms=5,
                        color="C0" if n == "base" else "k", capsize=2, lw=1)
            shown += list(values)
        if "base" in groups:
            ax.axvline(np.mean([r[key] for r in groups["base"]]) * 100, color="C0", ls="--", lw=1)
            untrained = [r["random_init"][key] * 100 for r in groups["base"] if "random_init" in r]
            if untrained:
                ax.axvline(np.mean(untrained), color="0.4", ls=":", lw=1.2)
                ax.text(np.mean(untrained), -0.9, " random init", fontsize=8, color="0.3", va="center")
                shown += untrained
        ax.set_xlim(min(shown) - 2, max(shown) + 2)
        ax.set_xlabel(f"{label} accuracy, validation split (%)")
        ax.grid(axis="x", color="0.9")
    axes[0].set_yticks(range(len(names)), [f"{n} ({groups[n][0]['epochs']} ep.)" for n in names])
    axes[0].set_ylim(len(names) - 0.5, -1.3)  # top down, with a line above the base for the labels
    fig.suptitle(f"The cpu recipe's levers at {budget} of training each (dots: seeds; diamonds: their mean)",
                 fontsize=10)
    fig.tight_layout()
    return fig


def rows(result: dict, budget: str) -> list[dict]:
    """One row per variant: what it changes, epochs, seeds, mean (and the seeds' standard deviation where there
    are 2+), cost. A difference from the base within two standard errors of it (the base's seed-to-seed spread,
    where it has 2+ seeds) is marked as noise."""
    groups = by_variant(result, budget)
    base = groups.get("base", [])
    base_cpus = {r.get("cpu") for r in base}
    out = []
    for n, runs in groups.items():
        row = {"variant": n, "what it changes": what(result, n),
               "epochs": runs[0]["epochs"], "seeds": len(runs),
               "train s": round(float(np.mean([r["train_s"] for r in runs])))}
        if base and {r.get("cpu") for r in runs} != base_cpus:  # its epochs are the base's CPU's, its time not
            row["train s"] = f"{row['train s']} on {', '.join(sorted({str(r.get('cpu')) for r in runs}))}"
        for key, label in (("knn", "kNN"), ("linear", "linear")):
            v = np.array([r[key] for r in runs]) * 100
            row[label] = f"{v.mean():.1f}" + (f" ± {v.std(ddof=1):.1f}" if len(v) > 1 else "")
            if base and n != "base":
                b = np.array([r[key] for r in base]) * 100
                diff = v.mean() - b.mean()
                row[f"{label} vs base"] = f"{diff:+.1f}" + ("" if len(b) < 2 else " (noise)" if abs(diff) <= 2 * b.std(
                    ddof=1) * np.sqrt(1 / len(v) + 1 / len(b)) else "")
        out.append(row)
    return out


def trained_on(result: dict) -> str:
    """Which CPUs trained the file's runs, and how many rows of its table each measured ("AMD EPYC (4 rows),
    ..."; a probe-only variant's row probes another's training), most first."""
    counts = Counter(r.get("cpu", "a CPU not recorded") for r in result["runs"])
    return ", ".join(f"{cpu} ({n} row{'' if n == 1 else 's'})" for cpu, n in counts.most_common())


def narrow(table_rows: list[dict]) -> list[dict]:
    """The same rows for a page's width: each difference from the base folded into its accuracy's cell
    ("44.3 ± 1.8 (-0.3, noise)"), and what a variant changes moved to the last column, where it can wrap."""
    out = []
    for row in table_rows:
        row = dict(row)
        for label in ("kNN", "linear"):
            if (diff := row.pop(f"{label} vs base", None)) is not None:
                row[label] = f"{row[label]} ({diff.replace(' (noise)', ', noise')} vs base)"
        row["what it changes"] = row.pop("what it changes")
        out.append(row)
    return out


def _shared_seeds(groups: dict, variant: str) -> list[int]:
    return sorted({r["seed"] for r in groups.get("base", [])} & {r["seed"] for r in groups.get(variant, [])})


def against_base(result: dict, variant: str, budget: str, labels: dict | None = None) -> list[dict]:
    """The base and one variant side by side, trained and at random init: mean ± the seeds' standard deviation
    over the seeds both have (a probe-only variant is measured on the base's own trained runs). ``labels``:
    {name: what to call it} (default: the file's description)."""
    groups = by_variant(result, budget)
    seeds, labels = _shared_seeds(groups, variant), labels or {}
    out = []
    for name in ("base", variant):
        runs = [r for r in groups[name] if r["seed"] in seeds]
        row = {"variant": labels.get(name) or f"{name}: {what(result, name)}", "seeds": len(runs)}
        for key, label in (("knn", "kNN"), ("linear", "linear")):
            for tag, values in (("trained", [r[key] for r in runs]),
                                ("random init", [r["random_init"][key] for r in runs if "random_init" in r])):
                v = np.array(values) * 100
                row[f"{label} {tag}"] = "" if not len(v) else f"{v.mean():.1f}" + (
                    f" ± {v.std(ddof=1):.1f}" if len(v) > 1 else "")
        out.append(row)
    return out


def paired_gains(result: dict, variant: str, budget: str) -> dict:
    """{"knn": [...], "linear": [...]}: the variant minus the base, in points, seed by seed (the seeds both have)."""
    groups = by_variant(result, budget)
    seeds = _shared_seeds(groups, variant)
    pick = {n: {r["seed"]: r for r in groups[n]} for n in ("base", variant)}
    return {key: [round((pick[variant][s][key] - pick["base"][s][key]) * 100, 1) for s in seeds]
            for key in ("knn", "linear")}


MEASURES = ("trained", "at random init", "learnt")  # what difference() compares: see there


def difference(result: dict, variant: str, reference: str, budget: str, measure: str = "trained") -> dict:
    """{"knn": text, "linear": text}: the variant's mean minus the reference's, in points, marked "(noise)" where
    it is within two standard errors of the difference (each side's own seed-to-seed spread). Unpaired: the
    two may have been measured on different trainings of the same seeds (a run folder trained again on another
    machine or with other thread settings is not bit-identical). ``measure``: "trained", the runs' accuracy;
    "at random init", the same networks' before training; "learnt", each run's trained minus its own untrained
    accuracy, what training added (the last two where both sides measured random init)."""
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {MEASURES}, got {measure!r}")

    def value(r, key):  # random init is read only where the measure needs it: not every run measured it
        untrained = 0.0 if measure == "trained" else r["random_init"][key]
        return untrained if measure == "at random init" else r[key] - untrained

    groups = by_variant(result, budget)
    out = {}
    for key in ("knn", "linear"):
        a, b = (np.array([value(r, key) for r in groups[n] if measure == "trained" or "random_init" in r]) * 100
                for n in (variant, reference))
        if not min(len(a), len(b)):  # the sweep measured one side's networks at random init, not the other's
            out[key] = f"not measured at random init on {variant if not len(a) else reference}"
            continue
        diff = a.mean() - b.mean()
        text = f"{round(diff, 1) + 0.0:+.1f} points ({len(a)} and {len(b)} seeds)"  # + 0.0: no "-0.0"
        if min(len(a), len(b)) < 2:
            out[key] = text + ", no spread on one side to judge it by"
            continue
        se = np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
        out[key] = text + (" (noise)" if abs(diff) <= 2 * se else "")
    return out


def gap_by_budget(result: dict, variant: str) -> str | None:
    """One sentence: the variant's mean minus the base's, in points, on each probe, at every budget where both
    ran (the epochs and seeds of each), and how the gap moved from the shortest budget to the longest (closed,
    widened or reversed). None where they share no budget."""
    groups = {b: by_variant(result, b) for b in budgets(result)}
    shared = [b for b, g in groups.items() if "base" in g and variant in g]
    if not shared:
        return None

    def count(n, unit):
        return f"{n} {unit}{'' if n == 1 else 's'}"

    gaps, parts = {}, []
    for b in shared:
        v, base = groups[b][variant], groups[b]["base"]
        gaps[b] = {key: 100 * (np.mean([r[key] for r in v]) - np.mean([r[key] for r in base]))
                   for key in ("linear", "knn")}
        seeds = count(len(v), "seed") + (" each" if len(v) == len(base) else f" to the base's {len(base)}")
        parts.append(f"at {b} ({count(v[0]['epochs'], 'epoch')} to the base's {base[0]['epochs']}, {seeds}) "
                     f"{gaps[b]['linear']:+.1f} linear and {gaps[b]['knn']:+.1f} kNN")
    text = f"`{variant}` minus the base, in points: " + "; ".join(parts)
    if len(shared) > 1:
        first, last = gaps[shared[0]], gaps[shared[-1]]
        moves = [f"{'reversed' if first[k] * last[k] < 0 else 'closed' if abs(last[k]) < abs(first[k]) else 'widened'}"
                 f" on {label}" for k, label in (("linear", "linear"), ("knn", "kNN"))]
        text += f"; from {shared[0]} to {shared[-1]} the gap {' and '.join(moves)}"
    return text + "."


def by_budget(result: dict, variant: str) -> list[dict]:
    """One row per budget the variant ran at, shortest first: epochs, seeds, and its mean kNN and linear
    accuracy (± the seeds' standard deviation where there are 2+), in %."""
    out = []
    for b in budgets(result):
        runs = by_variant(result, b).get(variant)
        if not runs:
            continue
        row = {"budget": b, "epochs": runs[0]["epochs"], "seeds": len(runs)}
        for key, label in (("knn", "kNN"), ("linear", "linear")):
            v = np.array([r[key] for r in runs]) * 100
            row[label] = f"{v.mean():.1f}" + (f" ± {v.std(ddof=1):.1f}" if len(v) > 1 else "")
        out.append(row)
    return out


def trained_at_several_budgets(result: dict) -> list[str]:
    """The variants other than the base that trained networks of their own (not a probe of the base's) at two
    or more budgets, in the order they first ran."""
    out = []
    for v in dict.fromkeys(r["variant"] for r in result["runs"]):
        runs = [r for r in result["runs"] if r["variant"] == v]
        if v != "base" and not any("trained_as" in r for r in runs) and len({r["budget"] for r in runs}) > 1:
            out.append(v)
    return out
