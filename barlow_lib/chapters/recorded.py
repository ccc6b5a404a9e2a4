"""Figures and tables of recorded runs (``barlow_lib.records``), as chapters 3, 5 and 6 and the results page
show them. A record that has not been written renders as one sentence naming the command that writes it."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from .. import diagnostics, records


def missing(name: str):
    """The plain sentence a page shows where a record is missing."""
    from IPython.display import Markdown

    return Markdown(f"*No recorded run `{name}` yet: `barlow-twins train --recipe {name} ... --out RUN_DIR`, then "
                    f"`barlow-twins record --run RUN_DIR --out results/runs/{name}` writes it.*")


def load_all(names) -> dict:
    """{name: Record or None} for the names asked for, in order."""
    return {n: records.load(n) for n in names}


def _provenance(rec) -> dict:
    return rec["provenance"]["run"].get("end") or rec["provenance"]["run"].get("start") or {}


def hardware(rec) -> str:
    p = _provenance(rec)
    return ", ".join(p.get("accelerators") or []) or f"{p.get('cpu', '?')}, {p.get('cpu_count', '?')} cores"


def roof(rec) -> str:
    """The CPU's float32 matmul roof the record measured, as words to set beside its training time ("" if none)."""
    gflops = rec.get("cpu_float32_matmul_roof_gflops")
    when = ", measured as the training ended" if rec.get("cpu_float32_matmul_roof_measured") == "after training" else ""
    return f" (its float32 matmul roof{when}: {gflops:.0f} GFLOP/s)" if gflops else ""


def data_name(rec) -> str:
    """The run's data as a reader can use it: a named source as it is, a folder by its name alone (the path
    a run stores is the training machine's own)."""
    data = str(rec["config"]["data"])
    return Path(data).name if "/" in data or "\\" in data else data


def train_command(rec) -> str:
    """The record's training command as a reader would type it: the data folder by its name (``data_name``)."""
    return rec["train_command"].replace(str(rec["config"]["data"]), data_name(rec))


SPLITS = {"test": "the test split", "val-from-train": "a validation split carved from the training images"}


def describe(rec) -> str:
    """One line: what was trained, on what, evaluated how, where and when."""
    from ..data import CIFAR10_CLASSES

    minutes = (rec["train_seconds"] or 0) / 60
    kind = "CIFAR-10 images" if tuple(rec["classes"]) == CIFAR10_CLASSES else "images"
    return (f"Record `{rec['name']}`: recipe `{rec['recipe']}` ({rec['description'].rstrip('.')}), "
            f"{len(rec['history']['epoch'])} epochs, "
            f"{minutes:.1f} min of training on {hardware(rec)}{roof(rec)}, "
            f"commit {_provenance(rec).get('commit', '?')}. "
            f"Data: `{data_name(rec)}`, {rec['n_train']:,} training {kind}; evaluated on "
            f"{rec['n_eval']:,} images of {SPLITS.get(rec['split'], rec['split'])}.")


def mention(rec) -> str:
    """A short line naming a record where a page shows it again (``describe`` gives it in full once)."""
    recipe = "" if rec["recipe"] == rec["name"] else f" (recipe `{rec['recipe']}`)"
    return (f"Record `{rec['name']}`{recipe}: {len(rec['history']['epoch'])} epochs, "
            f"{(rec['train_seconds'] or 0) / 60:.1f} min on {hardware(rec)}{roof(rec)}; in full on the results page.")


def accuracy_table(recs: dict):
    """kNN and linear accuracy, trained against random init, one row per record."""
    from . import plotting

    rows = []
    for name, rec in recs.items():
        e = rec["evaluations"]
        rows.append({"record": name, "split": f"{rec['split']} ({rec['n_eval']:,} images)",
                     "kNN trained": f"{e['knn']['accuracy']:.1%}",
                     "kNN random init": f"{e['knn_random_init']['accuracy']:.1%}",
                     "linear trained": f"{e['linear']['accuracy']:.1%}",
                     "linear random init": f"{e['linear_random_init']['accuracy']:.1%}"})
    return plotting.table(rows)


def curves(recs: dict, reference: dict | None = None):
    """Loss per epoch of each record (own panel: losses of different D and lambda are not comparable) and kNN:
    the monitor during training (a subset of the images, train.KNN_MONITOR_*) beside the record's own kNN on
    every image (a star at the last epoch), so the two scales are not taken for one."""
    n = len(recs) + (reference is not None)
    cols = n + 1 if n + 1 <= 3 else 2  # four panels or more in rows of two: a page's width keeps them legible
    rows = -(-(n + 1) // cols)
    fig, grid = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.3 * rows), squeeze=False)
    axes = list(grid.flat)[:n + 1]
    for spare in list(grid.flat)[n + 1:]:
        spare.set_visible(False)
    for ax, (name, rec) in zip(axes, recs.items()):
        h = rec["history"]
        ax.plot(h["epoch"], h["loss"], marker=".", color="tab:blue")
        d = rec["config"]["recipe"]["model"]["projector"][-1]
        ax.set(title=f"{name}: loss (D = {d})", xlabel="epoch", ylabel="Barlow Twins loss")
    if reference is not None:
        ax = axes[len(recs)]
        loss = reference["loss_per_epoch"]
        ax.plot(range(1, len(loss) + 1), loss, color="tab:gray")
        ax.set(title="keras-io example's own log (D = 5000)", xlabel="epoch", ylabel="loss (no epsilon)")
    ax = axes[-1]
    for name, rec in recs.items():  # the monitor reads subsets; the star and the dotted line, every image
        h = rec["history"]
        pts = [(e, 100 * a) for e, a in zip(h["epoch"], h["knn_accuracy"]) if a is not None]
        if pts:
            line, = ax.plot(*zip(*pts), marker="o", label=f"{name}: monitor")
            ax.plot(h["epoch"][-1], 100 * rec["evaluations"]["knn"]["accuracy"], marker="*", ms=12, ls="",
                    color=line.get_color(), label=f"{name}: the record's kNN")
        ax.axhline(100 * rec["evaluations"]["knn_random_init"]["accuracy"], ls=":", color="0.5")
    ax.set(title="kNN (dotted: the record's at random init)", xlabel="epoch", ylabel="kNN accuracy (%)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def crosscorr(rec, epochs=None, size: int = 32):
    """The top-left ``size`` x ``size`` corner of c on the fixed batch, at several epochs."""
    from . import plotting

    have = list(rec.arrays["c_epochs"])
    epochs = [e for e in (epochs or have) if e in have]
    return plotting.heatmaps({f"epoch {e}" + (" (random init)" if e == 0 else ""):
                              rec.arrays["c_corner"][have.index(e)][:size, :size].astype(np.float32)
                              for e in epochs})


def rank_facts(rec) -> dict:
    """What the diagnostics figure shows, as numbers: the fixed batch's N, the widths, the largest effective
    rank each could reach on it (min(N, D)), the ranks at the first and last snapshot, and the off-diagonal
    RMS against 1/sqrt(N), the level of independent features."""
    d = rec["diagnostics"]
    n = diagnostics.BATCH
    widths = {"features": int(rec.arrays["singular_values_features"].shape[1]),
              "embedding": int(d["embedding_dim"][-1])}
    return {"N": n, "epochs": (d["epochs"][0], d["epochs"][-1]),
            "features": {"D": widths["features"], "max": min(n, widths["features"]),
                         "rank": (d["effective_rank_features"][0], d["effective_rank_features"][-1])},
            "embedding": {"D": widths["embedding"], "max": min(n, widths["embedding"]),
                          "rank": (d["effective_rank_embedding"][0], d["effective_rank_embedding"][-1])},
            "off_rms": (d["off_diagonal_rms"][0], d["off_diagonal_rms"][-1]), "chance": 1 / np.sqrt(n)}


def diagonal_and_rank(rec):
    """Mean diagonal of c and RMS off-diagonal (beside 1/sqrt(N), the level of independent features), and
    effective ranks (beside the most each can reach on the batch, min(N, D)), over the snapshot epochs."""
    d, facts = rec["diagnostics"], rank_facts(rec)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    axes[0].plot(d["epochs"], d["diagonal_mean"], marker="o", label="mean diagonal of c")
    axes[0].plot(d["epochs"], d["off_diagonal_rms"], marker="o", label="RMS off-diagonal of c")
    axes[0].axhline(facts["chance"], color="C1", ls=":", lw=1,
                    label=f"1/sqrt(N), independent features (N = {facts['N']})")
    axes[0].set(xlabel="epoch", title="c on the fixed batch", ylim=(0, 1.05))
    axes[0].legend(fontsize=7)
    for key, label, colour in (("features", "backbone features", "C0"), ("embedding", "projector embeddings", "C1")):
        f = facts[key]
        axes[1].plot(d["epochs"], d[f"effective_rank_{key}"],
                     marker="o", color=colour, label=f"{label} (D = {f['D']})")
        axes[1].axhline(f["max"], color=colour, ls=":", lw=1, label=f"most possible: min(N, D) = {f['max']}")
    axes[1].set(xlabel="epoch", ylabel="effective rank", title="dimensions in use",
                ylim=(0, 1.08 * facts["embedding"]["max"]))
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    return fig


def spectra(rec):
    """Singular values of the backbone features, random init (epoch 0) against trained (last epoch)."""
    s = rec.arrays["singular_values_features"]
    epochs = list(rec.arrays["c_epochs"])
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    for row, label in ((0, "random init"), (len(epochs) - 1, f"trained, epoch {epochs[-1]}")):
        v = s[row] / s[row].max()
        rank = rec["diagnostics"]["effective_rank_features"][row]
        ax.semilogy(np.arange(1, len(v) + 1), v, label=f"{label}: effective rank {rank:.1f}")
    ax.set(xlabel="singular value index", ylabel="singular value / largest", title="backbone feature spectrum")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def label_efficiency(rec):
    """Accuracy with 1%, 10% and 100% of the labels: linear probes and the supervised baseline."""
    le = rec["label_efficiency"]
    x = [f * 100 for f in le["fractions"]]
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for key, label, style in (("pretrained_linear", "linear probe, Barlow Twins features", "o-"),
                              ("supervised", "same network trained supervised", "s--"),
                              ("random_init_linear", "linear probe, random-init features", "^:")):
        if le.get(key):
            ax.plot(x, [100 * v for v in le[key]], style, label=label)
    ax.set(xscale="log", xlabel="labelled training images used (%)", ylabel="accuracy (%)",
           title=f"label efficiency ({rec['split']} split)")
    ax.set_xticks(x, [f"{v:g}%" for v in x])
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def retrieval(rec, which=("trained", "random_init")):
    """Each query image (left, its class beside it) and its nearest training images, for the trained and the
    untrained encoder.

    Where the record lists which neighbours share the query's class, those have a green frame, others a red one.
    """
    q = rec.arrays["query_thumbs"]
    k = rec["neighbours"]["k"]
    # records written before query_classes was stored drew one query per class, in class order
    query_classes = rec["neighbours"].get("query_classes", range(len(q)))
    cols = 1 + (k + 1) * len(which)  # a blank column between blocks
    fig, axes = plt.subplots(len(q), cols, figsize=(0.95 * cols, 1.1 * len(q)), squeeze=False)  # + class names
    for ax in axes.ravel():
        ax.axis("off")
    for i in range(len(q)):
        axes[i, 0].imshow(q[i])
        axes[i, 0].axis("on"), axes[i, 0].set_xticks([]), axes[i, 0].set_yticks([])
        axes[i, 0].set_xlabel(rec["classes"][query_classes[i]], fontsize=7, labelpad=1)
        for n, w in enumerate(which):
            same = rec["neighbours"][f"{w}_hits"][i] if f"{w}_hits" in rec["neighbours"] else [None] * k
            for j, tile in enumerate(rec.arrays[f"neighbour_thumbs_{w}"][i]):
                ax = axes[i, 2 + n * (k + 1) + j]
                ax.imshow(tile)
                ax.axis("on"), ax.set_xticks([]), ax.set_yticks([])
                if same[j] is not None:
                    for side in ax.spines.values():
                        side.set_color("tab:green" if same[j] else "tab:red")
                        side.set_linewidth(2)
    axes[0, 0].set_title("query", fontsize=9)
    for n, w in enumerate(which):
        frac = rec["neighbours"][f"{w}_same_class"]
        axes[0, 2 + n * (k + 1)].set_title(f"{w.replace('_', ' ')} encoder: {frac:.0%} of neighbours share the "
                                           "query's class", fontsize=9, loc="left")
    fig.subplots_adjust(left=0.01, right=0.99, top=1 - 0.3 / fig.get_figheight(), bottom=0.02, wspace=0.12,
                        hspace=0.3)  # (tight_layout gives up on the long block titles)
    return fig


def embedding_map(rec):
    """t-SNE maps of evaluation images' backbone features, random init and trained, coloured by class."""
    classes = rec["classes"]
    labels = rec.arrays["map_labels"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6))
    for ax, tag in zip(axes, ("random_init", "trained")):
        xy = rec.arrays[f"map_{tag}"].astype(np.float32)
        for c, name in enumerate(classes):
            ax.scatter(*xy[labels == c].T, s=5, alpha=0.7, label=name)
        ax.set(title=f"{tag.replace('_', ' ')} backbone features (t-SNE)", xticks=[], yticks=[])
    axes[1].legend(markerscale=3, fontsize=7, loc="center left", bbox_to_anchor=(1, 0.5))
    fig.tight_layout()
    return fig
