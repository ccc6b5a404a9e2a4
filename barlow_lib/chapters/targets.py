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
AVX2_PROFILE = "bench-cpu-profile-avx2.json"  # the same profile on a CPU where TensorFlow leaves oneDNN off
PROFILE_KEY = "the library's default threads: the training path as % of the float32 roof"
# bench/cpu_profile.py names the threads it ran with inside the key: "the library's default threads (intra-op 1,
# inter-op 2): the training path ...". The target is the path `barlow-twins train` runs, at the library's
# threads whatever they are, not the fastest setting of the profile.
_PROFILE_KEY_PARTS = ("the library's default threads (", "): the training path as % of the float32 roof")


def profile_share(summary: dict) -> float | None:
    """The training path's share of the roof at the library's default threads, from a CPU profile's summary."""
    start, end = _PROFILE_KEY_PARTS
    return next((v for k, v in summary.items() if k.startswith(start) and k.endswith(end)), None)
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
        profile = json.loads((folder / PROFILE).read_text())
        found[("cpu", PROFILE)] = (f"results/{PROFILE}", {"summary": {PROFILE_KEY: profile_share(profile["summary"])}})
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


LAYERS = "bench-cpu-layers.json"


def layer_bound(folder=RESULTS) -> str | None:
    """What the per-layer profile says about the GFLOP/s target, in the training path's own terms: the
    layers' share of the path's time per step, the share of the roof the path would reach were everything
    else free (its FLOPs over the layers' time alone), and the most the rest may take for the target; None
    without the file. Computed from times, since the path also counts FLOPs that are no layer's (the loss's
    cross-correlation product)."""
    if not (folder / LAYERS).exists():
        return None
    s = json.loads((folder / LAYERS).read_text())["summary"]
    target = next(t[4] for t in TARGETS if t[2] == PROFILE)
    alone, path = s["layers alone: % of fp32 roof (the bound)"], s["training path: % of fp32 roof"]
    layers_ms, path_ms = s["layers alone: ms per step"], s["training path: ms per step"]
    slow = s["share of the step's FLOPs in layers under half the roof"]
    best = path * path_ms / layers_ms  # the path's FLOPs in the layers' time alone
    text = (f"Timed alone at their own shapes, forward and backward, the `cpu` network's convolutions and dense "
            f"layers reach {alone:.1f}% of the float32 roof measured beside them (`{LAYERS}`), with "
            f"{slow:.0%} of their FLOPs in layers that run under half the roof. The training path, timed in "
            f"that same run, reaches {path:.1f}% (the GFLOP/s target's row reads the profile's own run, "
            f"`{PROFILE}`): its step takes {path_ms:.1f} ms, of which the layers account for {layers_ms:.1f}. "
            f"Were everything else free, the step would take the layers' {layers_ms:.1f} ms and reach "
            f"{best:.1f}% of the roof (the path's share counts the loss's cross-correlation product too, which "
            f"is no layer's). ")
    if best < target:
        return text + (f"Even then the step would stay under the {target:.0f}% target: the narrow layers' own "
                       f"speed on this CPU is the limit, not the step around them.")
    target_ms = path_ms * path / target  # the step time at which the path reaches the target
    return text + (f"So the layers would allow the {target:.0f}% target, and what holds the step below it is the "
                   f"work outside them (batch normalisation, activations, the loss, the update, the step's own "
                   f"overhead): {path_ms - layers_ms:.1f} ms, {1 - layers_ms / path_ms:.0%} of the step, which "
                   f"would have to fall to {target_ms - layers_ms:.1f} ms, {1 - layers_ms / target_ms:.0%} of a "
                   f"{target_ms:.1f} ms step, for the step to reach the target.")


def _threads_compared(tf: dict, ours: dict, pairs: str) -> tuple[str, dict | None]:
    """TensorFlow's own threads against the library's on one profile's CPU, with each setting's processes:
    a difference their ranges cover is called what it is, the spread from one process to the next. Returns
    the sentence and ``tf`` where it was faster beyond that spread (else None)."""
    each_tf, each_ours = tf.get(f"{pairs}, each process") or [], ours.get(f"{pairs}, each process") or []
    text = (f"TensorFlow's own threads ran it at {tf[pairs]:,.0f} pairs/s, {tf[pairs] / ours[pairs]:.2f} times "
            "the library's" + (f" (the fastest of {len(each_tf)} processes each)" if each_tf else ""))
    if len(each_tf) < 2 or len(each_ours) < 2:
        return text + ".", None
    spans = f"{min(each_ours):,.0f} to {max(each_ours):,.0f} and {min(each_tf):,.0f} to {max(each_tf):,.0f}"
    if min(each_tf) <= max(each_ours) and min(each_ours) <= max(each_tf):
        return (text + f"; the two settings' processes overlap ({spans} pairs/s), so on this CPU the "
                "difference is noise."), None
    if min(each_tf) > max(each_ours):
        return (text + f": faster in every process ({spans} pairs/s), so on such a CPU "
                "`BARLOW_THREADS=tensorflow` is worth timing."), tf
    return text + f": slower in every process ({spans} pairs/s).", None


def onednn_gain(folder=RESULTS) -> str | None:
    """What oneDNN bought on an AVX2-only CPU, from its profile (``AVX2_PROFILE``): the training path at the
    library's defaults beside oneDNN off, TensorFlow's own choice on such a CPU, and beside the first profile's
    CPU (``PROFILE``), where the recipes' times were measured. None without the file."""
    if not (folder / AVX2_PROFILE).exists():
        return None
    result = json.loads((folder / AVX2_PROFILE).read_text())
    rows = {r["setting"]: r for r in result["rows"]}
    ours = next((r for name, r in rows.items() if name.startswith("the library's default")), None)
    off = rows.get("oneDNN off")
    if ours is None or off is None:
        return None
    pairs = "train path pairs/s"
    roof = result["summary"]["float32 matmul roof (GFLOP/s, 2048^3, TensorFlow's default threads)"]
    text = (f"On the AVX2-only CPU (`{AVX2_PROFILE}`, {result['provenance']['cpu']}), the training path ran at "
            f"{ours[pairs]:,.0f} pairs/s with the library's defaults, oneDNN on, against {off[pairs]:,.0f} at the "
            f"same threads with oneDNN off, as TensorFlow leaves it on that CPU: {ours[pairs] / off[pairs]:.1f} "
            f"times as fast. It reached "
            f"{ours['train path % of fp32 roof']:.1f}% of that CPU's float32 roof ({roof:.0f} GFLOP/s).")
    tf = rows.get("TensorFlow's default threads")
    faster = None  # TensorFlow's threads, where every process of them beat every process of the library's
    if tf is not None:
        sentence, faster = _threads_compared(tf, ours, pairs)
        text += " " + sentence
    first = json.loads((folder / PROFILE).read_text()) if (folder / PROFILE).exists() else {}
    theirs = next((r for r in first.get("rows", []) if r["setting"] == ours["setting"]), None)
    if theirs is None:
        return text
    budget = -next(t[4] for t in TARGETS if t[0] == "cpu" and t[5] == "min") / 60  # the cpu recipe's minutes
    cores = first["provenance"].get("cpu_count")
    return text + (f" The first profile's CPU ({first['provenance']['cpu']}"
                   f"{f', {cores} cores' if cores else ''}) ran the same path at {theirs[pairs]:,.0f} pairs/s, so "
                   f"a training that takes {budget:.0f} minutes there takes about "
                   f"{budget * theirs[pairs] / ours[pairs]:.0f} on the AVX2-only CPU at the library's threads"
                   + (f", {budget * theirs[pairs] / faster[pairs]:.0f} at TensorFlow's" if faster else "")
                   + ".")


def longer_schedule(folder=RESULTS) -> str | None:
    """What training the `cpu` network longer bought, from the two records: the accuracy gained for the extra
    epochs (not wall time: the two records may have trained on days of different speed), and the kNN monitor's
    rise over the first and the second half of `cpu-long`'s epochs (how fast more epochs still pay). None
    unless both records exist on the test split."""
    short, long = (records.load(n) for n in ("cpu", "cpu-long"))
    if short is None or long is None or not short["split"] == long["split"] == "test":
        return None
    h = long["history"]
    monitored = [(e, a) for e, a in zip(h["epoch"], h["knn_accuracy"]) if a is not None]
    half = len(h["epoch"]) // 2
    at_half = next((a for e, a in monitored if e == half), None)
    if len(monitored) < 2 or at_half is None:
        return None
    (first_epoch, first), (last_epoch, last) = monitored[0], monitored[-1]
    e_short, e_long = short["evaluations"], long["evaluations"]
    bound = next(t[4] for t in TARGETS if t[0] == "cpu-long" and t[3][-2] == "linear")
    gain = {p: (e_long[p]["accuracy"] - e_short[p]["accuracy"]) * 100 for p in ("linear", "knn")}
    epochs = len(short["history"]["epoch"])
    return (f"`cpu-long` trains the `cpu` network for {len(h['epoch']) / epochs:.1f} times the epochs "
            f"({len(h['epoch'])} against {epochs}) and gains {gain['linear']:.1f} "
            f"points of linear accuracy ({e_long['linear']['accuracy']:.1%} against "
            f"{e_short['linear']['accuracy']:.1%}) and {gain['knn']:.1f} of kNN; the {bound:.0%} linear target is "
            f"{(bound - e_long['linear']['accuracy']) * 100:.1f} points further. Its kNN monitor rose "
            f"{(at_half - first) * 100:.1f} points from epoch {first_epoch} to epoch {half} and "
            f"{(last - at_half) * 100:.1f} from there to epoch {last_epoch}: each further epoch of this network buys "
            f"less. What the target would take is a network that learns more per second of training: the lines "
            f"above set each lever the CPU sweep followed against the base at every budget it ran.")


def published_cost() -> str | None:
    """What the published figures at or above `cpu-long`'s linear target cost in arithmetic, against the
    `cpu-long` record's own training (``models.pair_flops``: two views, forward and backward, every epoch):
    the published network's backbone alone (a lower bound: its projector is left out) against the record's
    backbone and projector. It converts each into hours on the record's CPU at the rate the record's whole run
    averaged and at the float32 matmul roof measured beside it (no training runs faster than its roof). None
    without the record on the test split."""
    from .. import models, recipes  # TensorFlow is imported only when the page asks for this
    from . import published

    rec = records.load("cpu-long")
    if rec is None or rec["split"] != "test" or not rec.get("train_seconds"):
        return None
    bound = next(t[4] for t in TARGETS if t[0] == "cpu-long" and t[3][-2] == "linear")
    above = [r for r in published.PUBLISHED if "model" in r and max(r["kNN"] or 0, r["linear"] or 0) >= bound]
    if not above:
        return None
    twin = models.build_twin(recipes.Recipe.from_dict(rec["config"]["recipe"]))
    ours = models.pair_flops(twin.backbone, twin.projector) * rec["n_train"] * len(rec["history"]["epoch"])
    rate = ours / rec["train_seconds"]  # FLOP/s the record's run averaged, monitor and all
    roof = rec.get("cpu_float32_matmul_roof_gflops")
    if any(r["model"] != above[0]["model"] for r in above):  # the sentence names one network for them all
        raise ValueError("published_cost counts one published network; these rows train several")
    spec = recipes.ModelSpec(**above[0]["model"], precision="float32")
    per_epoch = models.pair_flops(models.build_backbone(spec, 32)) * published.TRAIN_IMAGES
    theirs = per_epoch * min(r["epochs"] for r in above)

    def figure(r):
        return f"{r['linear']:.1%} linear" if r["linear"] is not None else f"{r['kNN']:.1%} kNN"

    each = [f"{per_epoch * r['epochs'] / ours:,.0f} times ({r['result']}: {r['epochs']} epochs, {figure(r)})"
            for r in above]
    listed = each[0] if len(each) == 1 else ", ".join(each[:-1]) + " or " + each[-1]
    text = (f"Every published figure in the table at or above {bound:.0%} trains a {above[0]['network']}, "
            f"{above[0]['model']['width']} filters wide in its first stage, on 32 px views, and costs at least "
            f"{listed} "
            f"the arithmetic of `cpu-long`'s {len(rec['history']['epoch'])} epochs. These are lower bounds: they "
            f"count the published network's backbone alone, forward and backward through two views of every "
            f"training image each epoch, against `cpu-long`'s backbone and projector. At the rate `cpu-long`'s whole "
            f"run averaged on its CPU "
            f"({rate / 1e9:.0f} GFLOP/s), the cheapest of them would train for about "
            f"{theirs / rate / 3600:,.0f} hours")
    if roof:
        text += (f"; even at the float32 matmul roof measured beside the record ({roof:.0f} GFLOP/s), which no "
                 f"training reaches, for {theirs / (roof * 1e9) / 3600:,.0f} hours")
    return text + (". None of them reaches the target within two hours of two cores; whether a network cheaper "
                   "than theirs could is what the sweep's levers measure.")
