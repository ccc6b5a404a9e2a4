"""Published CIFAR-10 figures for Barlow Twins, each with its source, and the table that sets this book's
records beside them (chapter 6 and the results page show the same table).

Every published figure here is the source's own number on the CIFAR-10 test split; what differs from this
book's records (network, epochs, hardware, protocol, the images) is a column of its own.
"""
from __future__ import annotations

from .. import records
from . import keras_io_reference

KERAS_IO = keras_io_reference.published_log()
# keras-io's printed log: the first epoch (which compiles), then a steady time for each of the others.
KERAS_IO_MINUTES = (KERAS_IO["first_epoch_seconds"]
                    + (len(KERAS_IO["loss_per_epoch"]) - 1) * KERAS_IO["seconds_per_epoch"]) / 60

# The network every published figure at or above 80% trains, as this library builds it (its arithmetic is what
# the results page counts): ResNet-18 with the CIFAR stem, 64 filters in its first stage, on 32 px views.
RESNET18 = {"stem": "cifar", "depth": 18, "width": 64}
TRAIN_IMAGES = 50_000  # CIFAR-10's training set: an epoch of every published figure

PUBLISHED = (
    {"result": "keras-io example, its text", "network": "ResNet-34, ImageNet stem", "epochs": 160,
     "hardware": "one Colab GPU", "minutes": KERAS_IO_MINUTES, "kNN": None, "linear": KERAS_IO["accuracy_in_text"],
     "notes": "probe on the projector's output; original CIFAR-10 images", "source": "Eranti 2021, keras-io"},
    {"result": "keras-io example, its log", "network": "ResNet-34, ImageNet stem", "epochs": 160,
     "hardware": "one Colab GPU", "minutes": KERAS_IO_MINUTES, "kNN": None,
     "linear": KERAS_IO["linear_probe_val_accuracy_last"],
     "notes": "the probe's last printed accuracy; original images", "source": "Eranti 2021, keras-io"},
    {"result": "Barlow-Twins-TF", "network": "ResNet-20", "epochs": 100, "hardware": "one V100 GPU", "minutes": 23,
     "kNN": None, "linear": 0.6261, "notes": "original images", "source": "sayakpaul/Barlow-Twins-TF"},
    {"result": "lightly benchmark", "network": "ResNet-18, CIFAR stem", "epochs": 200, "hardware": "one GPU",
     "minutes": 375.9, "kNN": 0.842, "linear": None, "model": RESNET18,
     "notes": "batch 128; best kNN over all epochs; original images", "source": "lightly docs"},
    {"result": "lightly benchmark", "network": "ResNet-18, CIFAR stem", "epochs": 800, "hardware": "one GPU",
     "minutes": 517.5, "kNN": 0.859, "linear": None, "model": RESNET18,
     "notes": "batch 512; best kNN over all epochs; original images", "source": "lightly docs"},
    {"result": "solo-learn", "network": "ResNet-18, CIFAR stem", "epochs": 1000, "hardware": "GPU", "minutes": None,
     "kNN": None, "linear": 0.921, "model": RESNET18, "notes": "online linear probe; original images",
     "source": "da Costa et al. 2022, solo-learn"},
)

RECORDS = ("cpu", "cpu-long")  # this book's CPU records, when they exist


def _network(config: dict) -> str:
    m = config["recipe"]["model"]
    stem = "CIFAR stem" if m["stem"] == "cifar" else "ImageNet stem"
    return f"ResNet-{m['depth']} ({m['width']} wide), {stem}"


def probed_layers(model: dict) -> str:
    """Which features a recipe's probes read, from its model settings (a saved recipe's ``model``)."""
    grid = model.get("probe_grid", 1)  # recipes saved before the setting: the global pool
    stages = tuple(model.get("probe_stages", (4,)))  # and the last stage alone
    if grid == 1:
        return "the backbone's global average pool"
    which = "last stage" if stages == (4,) else f"stages {' and '.join(map(str, stages))}"
    return f"the backbone's {which} on a {grid}x{grid} grid"


def record_row(name: str, rec) -> dict:
    from . import recorded

    e = rec["evaluations"]
    split = "test split" if rec["split"] == "test" else "validation split, not test"
    return {"result": f"this book, record `{name}`", "network": _network(rec["config"]),
            "epochs": len(rec["history"]["epoch"]), "hardware": recorded.hardware(rec),
            "minutes": (rec["train_seconds"] or 0) / 60, "kNN": e["knn"]["accuracy"], "linear": e["linear"]["accuracy"],
            "notes": (f"probe on {probed_layers(rec['config']['recipe']['model'])}; {split}; "
                      f"images: `{recorded.data_name(rec)}`"),
            "source": "results/runs/" + name}


def rows() -> list[dict]:
    """This book's records (those that exist), then the published figures."""
    mine = [record_row(n, rec) for n in RECORDS if (rec := records.load(n)) is not None]
    return mine + list(PUBLISHED)


def table():
    """The comparison as a page shows it, in six columns that fit a page: percentages, minutes rounded, blanks
    where a source gives no figure."""
    from . import plotting

    def pct(v):
        return "" if v is None else f"{v:.1%}"

    return plotting.table([{"result (source)": f"{r['result']} ({r['source']})",
                            "network, epochs": f"{r['network']}; {r['epochs']} epochs",
                            "hardware, training time": r["hardware"] + ("" if r["minutes"] is None
                                                                        else f"; {r['minutes']:.0f} min"),
                            "kNN": pct(r["kNN"]), "linear": pct(r["linear"]), "what else differs": r["notes"]}
                           for r in rows()])


def learnt() -> str | None:
    """What training added to each record's figures: its gain over the same probe on the same network at random
    initialisation (a probe on a wide untrained feature map already scores well above chance). None without
    records."""
    parts = []
    for name in RECORDS:
        if (rec := records.load(name)) is not None:
            e = {k: round(rec["evaluations"][k]["accuracy"] * 100, 1)  # in % as the table prints them
                 for k in ("linear", "linear_random_init", "knn", "knn_random_init")}
            parts.append(f"`{name}` {e['linear']:.1f}% linear against {e['linear_random_init']:.1f}% at random "
                         f"init (+{e['linear'] - e['linear_random_init']:.1f} points), {e['knn']:.1f}% kNN against "
                         f"{e['knn_random_init']:.1f}% (+{e['knn'] - e['knn_random_init']:.1f})")
    if not parts:
        return None
    return ("What training added is each record's figure minus the same probe on the same network at random "
            "initialisation: " + "; ".join(parts) + ". None of the sources above gives its own network's accuracy "
            "at random initialisation, so their figures cannot be split the same way; a probe that reads more "
            "features (as this book's records do) gets more of its figure for free.")
