"""Recorded runs: what a finished run leaves for the book, small enough to commit (no weights, < 1 MB).

``write(run_dir, out)`` measures a finished run once - kNN and linear probe against random init, the probe
on 1%, 10% and 100% of the labels against the same network trained supervised on those labels, the
confusion matrix, a 2-D map and nearest neighbours of evaluation images - and copies what training recorded
as it went (history, diagnostics, config, provenance). ``load(name)`` is how chapters read it back.

    results/runs/NAME/record.json   every number, with the commands and provenance
    results/runs/NAME/arrays.npz    cross-correlation corners, spectra, map coordinates, neighbour thumbnails

A record appears whole or not at all: both files are written into a hidden folder beside ``out``
(``.NAME.tmp<pid>``), which is renamed into place last. The rename fails where ``out`` already holds a
record, so a second ``record`` into the same folder (or one that finished first, in parallel) is refused,
never overwritten. The run itself is only read: a finished run on read-only media can be recorded.
"""
from __future__ import annotations

import errno
import os
import shutil
import time
import zipfile
from pathlib import Path

import numpy as np

from . import data as data_sources
from . import evaluate, files, hardware, lock, provenance
from .errors import BarlowError
from .runs import Run

FRACTIONS = (0.01, 0.1, 1.0)
MAP_IMAGES, QUERIES, NEIGHBOURS, THUMB = 1000, 10, 6, 32
FOLDER = Path(__file__).resolve().parents[1] / "results" / "runs"  # in a clone of the repository


def folder() -> Path:
    """Where records live: $BARLOW_RECORDS, else the repository's results/runs."""
    return Path(os.environ.get("BARLOW_RECORDS", FOLDER))


class Record:
    """A recorded run: ``.data`` (record.json) and ``.arrays`` (arrays.npz)."""

    def __init__(self, path: Path):
        self.path, self.name = path, path.name
        fix = (f"restore it (git checkout -- {path}), or delete the folder and write it again with "
               "`barlow-twins record`")
        self.data = files.read_json(path / "record.json", fix)
        try:
            with np.load(path / "arrays.npz", allow_pickle=False) as f:
                self.arrays = {k: f[k] for k in f.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, AttributeError) as exc:
            raise BarlowError(f"record {path} is damaged (arrays.npz: {type(exc).__name__}: {exc}).", fix) from exc
        if not self._consistent():
            raise BarlowError(f"record {path}: record.json and arrays.npz do not describe the same measurements "
                              "(map images or diagnostics epochs differ): they come from different records.", fix)
        named = self.data.get("arrays") if isinstance(self.data, dict) else None
        if named is not None and sorted(named) != sorted(self.arrays):  # records written before it lack the list
            raise BarlowError(f"record {path}: arrays.npz holds {sorted(self.arrays)}, but record.json names "
                              f"{sorted(named)}: the two files come from different records.", fix)

    def _consistent(self) -> bool:
        """What record.json says of the arrays (records of every version name these) matches arrays.npz."""
        d, a = self.data, self.arrays
        try:
            if "map_labels" in a and len(a["map_labels"]) != d["map"]["images"]:
                return False
            return "c_epochs" not in a or a["c_epochs"].tolist() == d["diagnostics"]["epochs"]
        except (KeyError, TypeError):
            return False

    def __getitem__(self, key):
        return self.data[key]

    def get(self, key, default=None):  # fields added since older records were written
        return self.data.get(key, default)



def load(name: str) -> Record | None:
    """The record called ``name``, or None if it has not been written (chapters then say which command would)."""
    path = folder() / name
    return Record(path) if (path / "record.json").exists() else None


def available() -> list[str]:
    """Names of the records in ``folder()`` (not the hidden folders of records being written)."""
    return sorted(p.parent.name for p in folder().glob("*/record.json")
                  if not p.parent.name.startswith(".") and (p.parent / "arrays.npz").exists())


def _staging(out: Path) -> Path:
    """The hidden folder a record is written into before it is renamed to ``out``; made now, so that an
    ``out`` that cannot be written is refused before minutes of measuring."""
    if out.exists() and not out.is_dir():
        raise BarlowError(f"{out} is a file, not a folder.", "give `out` a folder path")
    if out.is_dir():
        held = sorted(p.name for p in out.iterdir())
        if "record.json" in held or "arrays.npz" in held:
            raise BarlowError(f"{out} already holds a record.", _TAKEN_FIX)
        if held:
            raise BarlowError(f"{out} is not empty ({', '.join(held[:4])}) and holds no record.",
                              "record into a new or empty folder")
    for old in out.parent.glob(f".{out.name}{files.TEMP_MARK}*") if out.parent.is_dir() else []:
        pid = old.name.rsplit(files.TEMP_MARK, 1)[1]
        if pid.isdigit() and not lock.process_alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)  # left by a killed record
    tmp = out.parent / f".{out.name}{files.TEMP_MARK}{os.getpid()}"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
    except OSError as exc:
        raise files.write_error(out, exc) from exc
    return tmp


_TAKEN_FIX = "record into another folder, or delete that folder first to write the record again"


def _publish(tmp: Path, out: Path):
    """Rename the finished staging folder to ``out``: the record appears in one step."""
    try:
        for p in tmp.iterdir():
            with open(p, "rb") as f:
                os.fsync(f.fileno())
        os.rename(tmp, out)  # refused where out is a folder that is not empty
    except OSError as exc:
        if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
            raise BarlowError(f"{out} already holds a record (written while this one was measured).",
                              _TAKEN_FIX) from exc
        raise files.write_error(out, exc) from exc


def train_command(config: dict) -> str:
    limit = f" --limit {config['limit']}" if config.get("limit") else ""
    resize = f" --image-size {config['resize']}" if config.get("resize") else ""
    return (f"barlow-twins train --recipe {config['recipe']['name']} --data {config['data']}{limit}{resize} "
            f"--seed {config['seed']} --out RUN_DIR")


def _thumbs(images: np.ndarray) -> np.ndarray:
    from .images import resize_array

    return resize_array(images, THUMB)


def perplexity(n: int) -> float:
    """t-SNE's perplexity: the usual 30, or less for small splits (it must stay below the number of images)."""
    return float(min(30.0, max(1.0, (n - 1) / 3)))


def _map_2d(features: np.ndarray, seed: int = 0) -> np.ndarray:
    from sklearn.manifold import TSNE

    if len(features) < 2:
        return np.zeros((len(features), 2), np.float16)
    f = (features - features.mean(0)) / (features.std(0) + 1e-6)
    return TSNE(n_components=2, init="pca", perplexity=perplexity(len(f)), random_state=seed
                ).fit_transform(f).astype(np.float16)


def write(run_dir, out, *, name: str | None = None, command: str = "", supervised_baseline: bool = True,
          progress: bool = True, data: str | None = None) -> Path:
    """Measure a finished run and write its record to ``out``; returns the record folder.

    ``data``: where the run's training data is now, if it moved (default: where the run says it was).
    """
    try:
        import sklearn  # noqa: F401  (the 2-D map is a t-SNE)
    except ImportError as exc:
        raise BarlowError("writing a record needs scikit-learn (for the 2-D map).", "pip install scikit-learn") from exc
    t0, run, out = time.perf_counter(), Run(run_dir), Path(out)
    log = print if progress else (lambda *a: None)
    config, history, run_provenance = run.config(), run.history(), run.provenance()
    run.require_complete()  # reads history.json and the exports' presence, loads no model
    snaps = run.diagnostics()
    tmp = _staging(out)  # before minutes of measuring: an `out` that is taken or not writable is refused now
    try:
        roof = _matmul_roof(run_provenance)
        record, arrays = _measure(run, config, history, run_provenance, snaps, data, supervised_baseline, log)
        record |= {"name": name or out.name, "command": command, "arrays": sorted(arrays), **roof,
                   "record_seconds": round(time.perf_counter() - t0, 1)}
        files.write_json(tmp / "record.json", record)
        files.atomic_write(tmp / "arrays.npz", lambda p: np.savez_compressed(p, **arrays))
        _publish(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def _matmul_roof(run_provenance: dict) -> dict:
    """A CPU run's float32 matmul roof, to set beside its training time (a reader scales the time by theirs):
    the one measured as the training ended, on the cores it ran on, or (a short run, or one trained before
    runs measured it) one measured now, before the record's own work; nothing on an accelerator."""
    trained = ((run_provenance or {}).get("end") or {}).get("cpu_float32_matmul_roof_gflops")
    if trained:
        return {"cpu_float32_matmul_roof_gflops": trained, "cpu_float32_matmul_roof_measured": "after training"}
    if hardware.accelerator():
        return {"cpu_float32_matmul_roof_gflops": None}
    return {"cpu_float32_matmul_roof_gflops": round(hardware.matmul_roof("float32"), 1),
            "cpu_float32_matmul_roof_measured": "when recorded"}


def _measure(run, config, history, run_provenance, snaps, data, supervised_baseline, log) -> tuple[dict, dict]:
    ds = data_sources.load(data or config["data"], limit=config.get("limit"),
                           seed=config.get("data_seed", config["seed"]), image_size=config.get("resize"))
    ds.require_labels()
    results, label_eff = {}, {"fractions": list(FRACTIONS), "pretrained_linear": [], "random_init_linear": [],
                              "supervised": [], "supervised_runs": []}
    for protocol in ("knn", "linear"):
        for random_init in (False, True):
            r = run.evaluate(protocol, ds, random_init=random_init)  # not saved into the run: it is only read
            for warning in r.get("warnings", []):
                log(f"warning: {warning}")
            results[f"{protocol}{'_random_init' if random_init else ''}"] = r
            log(f"{protocol}{' (random init)' if random_init else ''}: {r['accuracy']:.4f}")
    from . import supervised

    recipe = run.recipe()
    steps = recipe.epochs * (len(ds.x_train) // recipe.batch_size)  # the baseline gets pretraining's step count
    for fraction in FRACTIONS:
        for key, random_init in (("pretrained_linear", False), ("random_init_linear", True)):
            acc = results["linear" + ("_random_init" if random_init else "")]["accuracy"] if fraction == 1.0 else \
                run.evaluate("linear", ds, random_init=random_init, label_fraction=fraction)["accuracy"]
            label_eff[key].append(acc)
        if supervised_baseline:
            sup = supervised.train_baseline(recipe, ds, evaluate.label_subset(ds.y_train, fraction), steps=steps)
            label_eff["supervised"].append(sup["accuracy"])
            label_eff["supervised_runs"].append(sup)
        log(f"labels {fraction:.0%}: " + ", ".join(f"{k} {v[-1]}" for k, v in label_eff.items()
                                                   if k != "fractions" and v))
    arrays, extra = _pictures(run, ds)
    epochs = sorted(snaps)
    scalars = [k for k, v in snaps[epochs[0]].items() if np.ndim(v) == 0] if epochs else []
    arrays |= {"c_epochs": np.asarray(epochs, np.int32)}
    for key in ("c_corner", "singular_values_features", "singular_values_embedding"):
        if epochs:
            arrays[key] = np.stack([snaps[e][key] for e in epochs])
    record = {
        "recipe": recipe.name, "description": recipe.description,
        "data": ds.describe(), "split": ds.eval_split, "n_train": len(ds.x_train), "n_eval": len(ds.x_eval),
        "classes": list(ds.classes), "config": config, "train_command": train_command(config),
        "history": history,
        "train_seconds": run_provenance.get("train_seconds"),
        "evaluations": {k: {f: v[f] for f in ("accuracy", "n_train", "n_eval", "split", "seconds")}
                        for k, v in results.items()},
        "confusion": {"linear": results["linear"]["confusion"], "knn": results["knn"]["confusion"]},
        "label_efficiency": label_eff,
        "diagnostics": {"epochs": epochs, **{k: [snaps[e][k] for e in epochs] for k in scalars}},
        **extra,
        "provenance": {"run": run_provenance, "record": provenance.collect()},
    }
    return record, arrays


def _pictures(run: Run, ds) -> tuple[dict, dict]:
    """2-D maps of evaluation images and nearest training neighbours of a few queries, trained and untrained."""
    rng = np.random.default_rng(0)
    shown = np.sort(rng.permutation(len(ds.x_eval))[: min(MAP_IMAGES, len(ds.x_eval))])
    queries = np.array([rng.choice(np.flatnonzero(ds.y_eval == c)) for c in np.unique(ds.y_eval)][:QUERIES])
    arrays = {"map_labels": ds.y_eval[shown].astype(np.uint8), "query_thumbs": _thumbs(ds.x_eval[queries])}
    neighbours = {"k": NEIGHBOURS, "query_indices": queries.tolist(),
                  "query_classes": [int(c) for c in ds.y_eval[queries]]}
    for tag, random_init in (("trained", False), ("random_init", True)):
        backbone = run.load_probed(random_init=random_init)
        f_train = evaluate.extract_features(backbone, ds.x_train)
        f_eval = evaluate.extract_features(backbone, ds.x_eval)
        arrays[f"map_{tag}"] = _map_2d(f_eval[shown])
        nn = evaluate.nearest_neighbours(f_train, f_eval[queries], NEIGHBOURS)
        neighbours[tag] = nn.tolist()
        hits = ds.y_train[nn] == ds.y_eval[queries][:, None]
        neighbours[f"{tag}_hits"] = hits.tolist()
        neighbours[f"{tag}_same_class"] = float(np.mean(hits))
        arrays[f"neighbour_thumbs_{tag}"] = _thumbs(ds.x_train[nn.ravel()]).reshape(len(queries), NEIGHBOURS,
                                                                                     THUMB, THUMB, 3)
    return arrays, {"map": {"method": "t-SNE of standardised backbone features", "images": len(shown),
                            "perplexity": perplexity(len(shown))},
                    "neighbours": neighbours}
