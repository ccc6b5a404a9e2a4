"""The run directory: the one owner of every file a run writes and reads.

    RUN_DIR/config.json            recipe, data (source, limit, seed, resize), seed, devices, evaluation split
    RUN_DIR/checkpoints/last.npz   weights, optimizer state, history and config: where training stands
    RUN_DIR/history.json           per epoch: loss, kNN accuracy (if monitored), lr, seconds; "complete" last
    RUN_DIR/diagnostics/epoch-NNNN.npz   c and spectra of a fixed batch at a few epochs (diagnostics.py)
    RUN_DIR/provenance.json        commit, hardware, software, start and end time
    RUN_DIR/tensorboard/           scalars for TensorBoard
    RUN_DIR/backbone.keras, projector.keras   exported when training completes
    RUN_DIR/eval-<protocol>[-<labels>][-random-init].json   results of ``Run.evaluate``
    RUN_DIR/.lock                  held by the process that trains the run (lock.py)

Where a run stands has one source of truth: the checkpoint. history.json mirrors it and is rewritten from
it whenever training (re)starts; a run is finished when history.json says "complete", written after the
exports. So a kill at any moment leaves a run that the same command brings to one consistent, finished state.
"""
from __future__ import annotations

import contextlib
import hashlib
import re
import shutil
import time
import zipfile
from pathlib import Path

import numpy as np

from . import checkpoint, files, lock, provenance
from . import data as data_sources
from .errors import BarlowError
from .recipes import Recipe, settings as recipe_settings

SETTINGS = ("recipe", "data", "limit", "data_seed", "resize", "seed")  # what a resumed run must repeat
_RETRAIN = "run the same `train` command again: it rewrites this file from the checkpoint"
_RESTORE = "restore it, or train again into a new folder"


def config_for(recipe: Recipe, ds, *, seed: int, devices: int) -> dict:
    """What a run records about how it was made (``ds`` carries its own provenance: ``data.load``)."""
    return {"recipe": recipe.to_dict(), "data": data_sources.absolute_source(ds.source or ds.name),
            "limit": ds.limit, "data_seed": ds.seed,
            "resize": ds.resized_to, "seed": seed, "devices": devices, "eval_split": ds.eval_split}


def differences(old: dict, new: dict) -> list[str]:
    defaults = {"data_seed": old.get("seed"), "resize": None}  # folders written before these were recorded
    old = dict(old, recipe=recipe_settings(old.get("recipe")))
    new = dict(new, recipe=recipe_settings(new.get("recipe")))
    return [k for k in SETTINGS if old.get(k, defaults.get(k)) != new.get(k)
            and not (k == "data" and data_sources.same_data(old.get(k), new.get(k)))]


def _class_name(ds, c) -> str:
    return repr(ds.classes[c]) if c < len(ds.classes) else str(int(c))


class Run:
    def __init__(self, path):
        self.path = Path(path)

    config_path = property(lambda self: self.path / "config.json")
    history_path = property(lambda self: self.path / "history.json")
    provenance_path = property(lambda self: self.path / "provenance.json")
    checkpoint_path = property(lambda self: self.path / "checkpoints" / "last.npz")
    diagnostics_dir = property(lambda self: self.path / "diagnostics")
    backbone_path = property(lambda self: self.path / "backbone.keras")
    projector_path = property(lambda self: self.path / "projector.keras")
    tensorboard_dir = property(lambda self: self.path / "tensorboard")

    # ---- reading ---------------------------------------------------------------------------------
    def exists(self) -> bool:
        return self.config_path.exists() or self.checkpoint_path.exists()

    def config(self) -> dict:
        if not self.config_path.exists():
            raise BarlowError(f"{self.path} is not a run directory (no config.json).",
                              "pass the folder a `train` run wrote into (its `out`)")
        config = files.read_json(self.config_path, _RESTORE)
        missing = [k for k in ("recipe", "data", "seed") if not isinstance(config, dict) or k not in config]
        if missing:
            raise BarlowError(f"{self.config_path} is damaged (no {', '.join(missing)}).", _RESTORE)
        return config

    def recipe(self) -> Recipe:
        recipe = self.config()["recipe"]
        unknown = _unknown_settings(recipe)
        if unknown:
            raise BarlowError(f"{self.config_path} was written by a newer barlow_lib: this version does not know "
                              f"the settings {', '.join(unknown)}.", "use the barlow_lib version that trained it "
                              "(its provenance.json names the commit), or train again into a new folder")
        try:
            return Recipe.from_dict(recipe)
        except (TypeError, KeyError, ValueError, AttributeError) as exc:
            raise BarlowError(f"{self.config_path} is damaged (its recipe: {exc}).", _RESTORE) from exc

    def history(self) -> dict:
        return files.read_json(self.history_path, _RETRAIN) if self.history_path.exists() else {}

    def provenance(self) -> dict:
        return files.read_json(self.provenance_path, _RETRAIN) if self.provenance_path.exists() else {}

    def is_complete(self) -> bool:
        return bool(self.history().get("complete")) and self.backbone_path.exists() and self.projector_path.exists()

    def state(self) -> str:
        """One line: where the run stands."""
        if not self.exists():
            return f"{self.path} holds no run"
        h, epochs = self.history(), self.recipe().epochs
        return "finished" if self.is_complete() else f"trained {len(h.get('epoch', []))} of {epochs} epochs"

    def diagnostics(self) -> dict:
        """{epoch: snapshot} of the fixed-batch measurements written during training."""
        out = {}
        for p in sorted(self.diagnostics_dir.glob("epoch-*.npz")):
            try:
                with np.load(p, allow_pickle=False) as f:
                    out[int(p.stem.split("-")[1])] = {k: f[k] if f[k].ndim else f[k].item() for k in f.files}
            except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
                raise BarlowError(f"{p} is damaged ({type(exc).__name__}: {exc}).",
                                  "delete it (it is a measurement made during training, not needed to resume)") from exc
        return out

    def require_complete(self):
        """Refuse a run that has not finished training (reads history.json; loads no model)."""
        if not self.is_complete():
            raise BarlowError(f"run {self.path} has not finished training ({self.state()}).",
                              "run the same `train` command again to finish it")

    def load_backbone(self, random_init: bool = False, seed: int | None = None):
        """The trained encoder, or (``random_init``) the same architecture untrained, at the data's size."""
        from . import models
        from .seeds import seeded

        recipe = self.recipe()
        if random_init:  # built by the same function, from the same seed, as the trained one's first weights
            with seeded(self.config()["seed"] if seed is None else seed):
                return models.build_backbone(recipe.model, recipe.augment.image_size)
        self.require_complete()
        return _load_model(self.backbone_path)

    def load_probed(self, random_init: bool = False, seed: int | None = None):
        """The network kNN and the linear probe read: the backbone with its recipe's probe (models.probed)."""
        from . import models

        return models.probed(self.load_backbone(random_init, seed), self.recipe().model)

    def load_projector(self):
        self.require_complete()
        return _load_model(self.projector_path)

    def load_twin(self):
        """The trained twin (backbone at the views' size, projector), ready to embed views."""
        from . import models

        twin = models.build_twin(self.recipe())
        twin.backbone.set_weights(self.load_backbone().get_weights())
        twin.projector.set_weights(self.load_projector().get_weights())
        return twin

    # ---- evaluation ------------------------------------------------------------------------------
    def evaluate(self, protocol: str = "knn", data=None, *, random_init: bool = False, limit: int | None = None,
                 label_fraction: float | None = None, output: str = "backbone", progress: bool = False,
                 image_size: int | None = None) -> dict:
        """kNN or linear-probe accuracy of this run's backbone (or of the same network untrained).

        ``data``: a ``Dataset``, a source for ``data.load`` or None (the run's own training data);
        ``label_fraction``: fit the probe (or fill the kNN memory) with a class-balanced share of the labels;
        ``output="projector"``: probe the trained projector's output instead (what the keras-io example did).
        ``image_size``: resize ``data`` to this side (default: as the run's training data was).
        Returns the result with its confusion matrix and ``warnings`` (a degenerate evaluation: a class with
        no training images, too few images to choose the probe's L2 strength); ``save_evaluation`` writes it
        next to the run. One class only is refused: any features would score 100%.
        """
        import warnings

        from . import data as data_sources
        from . import evaluate

        t0, config = time.perf_counter(), self.config()
        if protocol not in ("knn", "linear"):
            raise BarlowError(f"`protocol` {protocol!r} is not one of knn, linear.", "use `protocol` knn or linear")
        if output not in ("backbone", "projector") or (output == "projector" and random_init):
            raise BarlowError(f"`output` {output!r}: probe the backbone, or the trained projector's output.",
                              "use `output` backbone (or projector, without random init)")
        if label_fraction is not None and not 0 < label_fraction <= 1:
            raise BarlowError(f"`label_fraction` {label_fraction}: a share of the labels, in (0, 1].",
                              "use e.g. `label_fraction` 0.1")
        ds = data if isinstance(data, data_sources.Dataset) else data_sources.load(
            data or config["data"], limit=limit, seed=config.get("data_seed", config["seed"]),
            image_size=image_size or config.get("resize"))
        ds.require_labels()
        size = config["recipe"]["augment"]["image_size"]
        if ds.image_size != size:
            raise BarlowError(f"{self.path} was trained on {size} px images but {ds.name} has {ds.image_size} px "
                              "images.", "evaluate on data of the size the run was trained on (or resize it: "
                              f"`image_size` {size})")
        keep = np.arange(len(ds.y_train)) if label_fraction is None else evaluate.label_subset(ds.y_train,
                                                                                              label_fraction)
        found = np.union1d(ds.y_train[keep], ds.y_eval)
        if len(found) < 2:
            raise BarlowError(f"{ds.name} has images of one class only, so any features would score 100%.",
                              "evaluate on labelled data of two or more classes")
        notes = [f"class {_class_name(ds, c)} has evaluation images but no training images: they are all "
                 "counted wrong" for c in np.setdiff1d(ds.y_eval, ds.y_train[keep])]
        if output == "projector":  # the projector reads the backbone's own (globally pooled) features
            backbone = self.load_backbone()
        else:
            backbone = self.load_probed(random_init=random_init)
        f_train = evaluate.extract_features(backbone, ds.x_train[keep], progress=progress)
        f_eval = evaluate.extract_features(backbone, ds.x_eval, progress=progress)
        if output == "projector":
            projector = self.load_projector()
            f_train, f_eval = (evaluate.project(projector, f) for f in (f_train, f_eval))
        n_classes = len(ds.classes) or int(max(ds.y_train.max(), ds.y_eval.max())) + 1
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", evaluate.EvaluationWarning)
            res = evaluate.evaluate_features(protocol, f_train, ds.y_train[keep], f_eval, ds.y_eval,
                                             n_classes=n_classes)
        notes += [str(w.message) for w in caught if issubclass(w.category, evaluate.EvaluationWarning)]
        return {"protocol": protocol, "accuracy": round(res["accuracy"], 4), "split": ds.eval_split,
                "n_train": len(keep), "n_eval": len(ds.x_eval), "random_init": random_init,
                "data": ds.source or ds.name, "recipe": config["recipe"]["name"], "run": str(self.path),
                "seconds": round(time.perf_counter() - t0, 1), "label_fraction": label_fraction, "output": output,
                "classes": list(ds.classes), "warnings": notes, "limit": limit,
                "confusion": evaluate.confusion_matrix(ds.y_eval, res["predictions"], n_classes).tolist()}

    def evaluation_path(self, protocol: str, random_init: bool = False, label_fraction: float | None = None,
                        output: str = "backbone", data: str | None = None, limit: int | None = None) -> Path:
        """``data``/``limit``: measured on other data than the run's own (or a subset): named so, never over
        the run's own result."""
        labels = "" if label_fraction is None else f"-labels{label_fraction:g}"
        where = "" if output == "backbone" else f"-{output}"
        other = ""
        if data is not None and not data_sources.same_data(data, self.config()["data"]):
            slug = re.sub(r"[^A-Za-z0-9]+", "_", Path(str(data)).name).strip("_")[:24] or "data"
            other = f"-data-{slug}-{hashlib.sha1(str(data).encode()).hexdigest()[:6]}"
        other += "" if limit is None else f"-limit{limit}"
        return self.path / f"eval-{protocol}{where}{labels}{other}{'-random-init' if random_init else ''}.json"

    def save_evaluation(self, result: dict) -> Path:
        path = self.evaluation_path(result["protocol"], result["random_init"], result.get("label_fraction"),
                                    result.get("output", "backbone"), result.get("data"), result.get("limit"))
        return files.write_json(path, {**result, "provenance": provenance.collect()})

    # ---- training: the write side ------------------------------------------------------------------
    def is_finished_run_of(self, config: dict) -> bool:
        """True when this folder already holds the finished run ``config`` describes (read only)."""
        try:
            return (self.config_path.exists() and not differences(self.config(), config) and self.is_complete()
                    and _intact(self.backbone_path) and _intact(self.projector_path) and self._mirrors_checkpoint())
        except BarlowError:
            return False

    def _mirrors_checkpoint(self) -> bool:
        """history.json holds the checkpoint's epochs (it is rewritten from the checkpoint when it does not)."""
        if not self.checkpoint_path.exists():
            return True  # a finished run copied without its weights: history.json is all there is
        saved = checkpoint.read_meta(self.checkpoint_path)["history"]
        return {k: v for k, v in self.history().items() if k != "complete"} == saved

    @contextlib.contextmanager
    def training(self, config: dict):
        """Open the run for training (lock, check, clean up); yields a ``Training`` with the write calls."""
        if self.path.exists() and not self.path.is_dir():
            raise BarlowError(f"{self.path} is a file, not a folder.", "give `out` a folder path")
        created = not self.path.exists()
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            held = lock.exclusive(self.path)
            held.__enter__()
        except OSError as exc:
            raise files.write_error(self.path / ".lock", exc) from exc
        session = None
        try:
            from .session import Training  # the write side lives in its own module

            session = Training(self, config)
            yield session
        except BaseException:
            if created and (session is None or session.saved == 0):
                shutil.rmtree(self.path, ignore_errors=True)  # nothing of value: leave no half-made folder
            raise
        finally:
            held.__exit__(None, None, None)


def _unknown_settings(recipe) -> list[str]:
    """Fields of a saved recipe that this version's Recipe, ModelSpec or AugmentConfig lacks."""
    import dataclasses

    from .augment import AugmentConfig
    from .recipes import ModelSpec

    if not isinstance(recipe, dict):
        return []
    out = []
    for prefix, d, cls in (("", recipe, Recipe), ("model.", recipe.get("model"), ModelSpec),
                           ("augment.", recipe.get("augment"), AugmentConfig)):
        if isinstance(d, dict):
            known = {f.name for f in dataclasses.fields(cls)}
            out += [prefix + k for k in d if k not in known]
    return out


def _load_model(path: Path):
    from .backends import keras

    try:
        return keras.saving.load_model(path, compile=False)  # safe_mode: no code in the file runs
    except Exception as exc:
        raise BarlowError(f"{path} cannot be loaded ({type(exc).__name__}: {str(exc)[:200]}).",
                          "run the same `train` command again: it exports the model again from the checkpoint"
                          ) from exc


def _intact(path: Path) -> bool:
    """Whether a saved .keras file is a whole zip archive (every member's checksum)."""
    try:
        with zipfile.ZipFile(path) as z:
            return z.testzip() is None
    except (OSError, zipfile.BadZipFile, EOFError):
        return False
