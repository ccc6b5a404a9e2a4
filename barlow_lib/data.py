"""Every data source behind one call: ``load(source)``, returning an immutable ``Dataset``.

``source`` is ``"cifar10"`` (keras.datasets, downloaded once), ``"cifar10-sample"`` (6,000 CIFAR-10
images shipped with the library, for machines without the download), ``"synthetic"`` (generated shapes),
an image folder, or an ``.npz`` file. Images come back as uint8 (N, S, S, 3); the augmentations run on
the device, so no per-image pipeline is needed here.

Folders: ``DIR/train/<class>/*`` with an optional ``DIR/test/<class>/*``, or ``DIR/<class>/*``, or
unlabeled images directly in ``DIR`` (pretraining only); decoding and sizes: ``images.py``. Labeled data
without a test split gets a validation split carved from train (``eval_split="val-from-train"``).
"""
from __future__ import annotations

import dataclasses
import os
import sys
import zipfile
from pathlib import Path

import numpy as np

from . import images, sample, synthetic
from .errors import BarlowError

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
SOURCES = ("cifar10", "cifar10-sample", "synthetic")
MAX_SEED = 2**32 - 1


@dataclasses.dataclass(frozen=True)
class Dataset:
    """Training images (and labels, if any), an evaluation split, and where they came from."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray | None
    x_eval: np.ndarray | None
    y_eval: np.ndarray | None
    eval_split: str | None  # "test", "val-from-train", or None for unlabeled data
    classes: tuple = ()
    source: str = ""  # what ``load`` was given
    limit: int | None = None  # training images kept by ``load(limit=...)``; None: all
    seed: int = 0  # the seed that drew the kept subset (and generated synthetic data)
    resized_to: int | None = None  # ``load(image_size=...)``: every image was resized to this side
    subset_of: int | None = None  # training images before ``limit`` kept a random subset of them
    about: str = ""  # one line on what the images are

    @property
    def image_size(self) -> int:
        return int(self.x_train.shape[1])

    def replace(self, **changes) -> "Dataset":
        return dataclasses.replace(self, **changes)

    def describe(self, about: bool = True) -> str:
        """One line for a page or a log: what the data is and how it was split (and, with ``about``, where it
        comes from)."""
        n_eval = 0 if self.x_eval is None else len(self.x_eval)
        split = {"test": "test split", "val-from-train": "validation split carved from the training images"}
        kept = f" (a random subset of {self.subset_of:,})" if self.subset_of else ""
        line = f"{self.name}: {len(self.x_train):,} training images{kept}, {self.image_size} px"
        if n_eval:
            line += f"; evaluation on {n_eval:,} images of the {split.get(self.eval_split, self.eval_split)}"
        return line + (f". {self.about}" if self.about and about else ".")

    def require_labels(self):
        if self.y_train is None or self.y_eval is None:
            raise BarlowError(f"{self.name} has no labels, so it cannot be evaluated.",
                              "lay the images out as DIR/train/<class>/... (optionally DIR/test/<class>/...)")


def check_seed(seed) -> int:
    if not isinstance(seed, (int, np.integer)) or not 0 <= seed <= MAX_SEED:
        raise BarlowError(f"`seed` {seed!r}: a seed is a whole number from 0 to {MAX_SEED}.", "use `seed` 0, 1, 2, ...")
    return int(seed)


def cifar10_is_cached() -> bool:
    """Whether keras.datasets.cifar10 has its files already (it would not need the network)."""
    home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
    return any(p.is_dir() for p in (home / "datasets").glob("cifar-10-batches-py*"))


def default_source() -> str:
    """``cifar10`` where it is cached or can be downloaded (Colab), else the shipped ``cifar10-sample``."""
    return "cifar10" if "google.colab" in sys.modules or cifar10_is_cached() else "cifar10-sample"


def load(source: str, *, limit: int | None = None, seed: int = 0, image_size: int | None = None,
         val_fraction: float = 0.1) -> Dataset:
    """Load a data source; ``limit`` keeps a random subset of N training images, ``image_size`` resizes."""
    seed = check_seed(seed)
    if limit is not None and (not isinstance(limit, (int, np.integer)) or limit < 1):
        raise BarlowError(f"`limit` {limit!r}: the number of training images to keep must be 1 or more.",
                          "drop `limit` to use every image, or pass a positive number")
    if image_size is not None and not 8 <= image_size <= 1024:
        raise BarlowError(f"`image_size` {image_size}: images are resized to 8..1024 px.", "use e.g. `image_size` 32")
    if source == "cifar10":
        ds = _cifar10()
    elif source == "cifar10-sample":
        (x, y), (xe, ye) = sample.load()
        ds = Dataset("CIFAR-10 sample", x, y, xe, ye, "val-from-train", CIFAR10_CLASSES, about=sample.ABOUT)
    elif source == "synthetic":
        (x, y), (xt, yt) = synthetic.make(seed=seed)
        ds = Dataset("synthetic shapes", x, y, xt, yt, "test", synthetic.CLASSES, about=synthetic.ABOUT)
    else:
        path = Path(source).expanduser()
        if not path.exists():
            raise BarlowError(f"`source` {source}: no such file or folder.",
                              f"pass {', '.join(SOURCES)}, an image folder or an .npz file")
        ds = _npz(path, image_size) if path.is_file() else _folder(path, image_size)
    if image_size is not None and ds.image_size != image_size:  # arrays (cifar10, npz, synthetic): resize here
        ds = ds.replace(x_train=images.resize_array(ds.x_train, image_size),
                        x_eval=None if ds.x_eval is None else images.resize_array(ds.x_eval, image_size))
    if ds.eval_split is None and ds.y_train is not None:
        ds = split_validation(ds, val_fraction)
    if limit is not None and limit < len(ds.x_train):
        keep = np.sort(np.random.default_rng(seed).permutation(len(ds.x_train))[:limit])
        ds = ds.replace(x_train=ds.x_train[keep], y_train=None if ds.y_train is None else ds.y_train[keep],
                        subset_of=len(ds.x_train))
    return ds.replace(source=str(source), limit=limit, seed=seed, resized_to=image_size)


def absolute_source(source: str) -> str:
    """A data path as an absolute path (so the run can be evaluated from any folder); named sources as they are."""
    if source in SOURCES or not Path(source).expanduser().exists():
        return source
    return str(Path(source).expanduser().resolve())


def same_data(a, b) -> bool:
    """Two recorded data sources name the same data (a path typed relative then, absolute now)."""
    if a == b:
        return True
    if not (isinstance(a, str) and isinstance(b, str)):
        return False
    return absolute_source(a) == absolute_source(b)


def split_validation(ds: Dataset, fraction: float = 0.1) -> Dataset:
    """Carve the last ``fraction`` of each class out of train as the evaluation split.

    Every class keeps at least one training image: a class of one image stays in train (it is then not
    evaluated); when no class has two, there is nothing to carve and a test split is needed.
    """
    is_val = np.zeros(len(ds.y_train), bool)
    for c in np.unique(ds.y_train):
        idx = np.flatnonzero(ds.y_train == c)
        if len(idx) >= 2:
            is_val[idx[len(idx) - min(len(idx) - 1, max(1, int(round(len(idx) * fraction)))):]] = True
    if not is_val.any():
        raise BarlowError(f"every class of {ds.name} has a single image, so no validation split can be carved "
                          "from the training images.", "put two or more images in each class, or add a test split "
                          "(DIR/test/<class>/...) beside DIR/train/<class>/...")
    return ds.replace(x_train=ds.x_train[~is_val], y_train=ds.y_train[~is_val], x_eval=ds.x_train[is_val],
                      y_eval=ds.y_train[is_val], eval_split="val-from-train")


def _cifar10() -> Dataset:
    from .backends import keras

    try:
        (x, y), (xt, yt) = keras.datasets.cifar10.load_data()
    except Exception as exc:  # network down, throttled, corrupt cache
        raise BarlowError(
            f"could not download or read CIFAR-10 through keras.datasets ({exc}).",
            "retry later; or pass `source` cifar10-sample (6,000 CIFAR-10 images shipped with barlow_lib), or a "
            "local copy: a folder DIR/train/<class>/*.png or an .npz")
    return Dataset("CIFAR-10", x, y.reshape(-1).astype(np.int64), xt, yt.reshape(-1).astype(np.int64), "test",
                   CIFAR10_CLASSES, about="Krizhevsky (2009), through keras.datasets.")


def _labels(f, key: str, n: int, where: str) -> np.ndarray:
    y = np.asarray(f[key])
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or len(y) != n or not np.issubdtype(y.dtype, np.integer) and not (
            np.issubdtype(y.dtype, np.floating) and np.all(y == np.round(y))):
        raise BarlowError(f"{where}:{key} has shape {y.shape} and dtype {y.dtype}; it must hold one whole-number "
                          f"class per image ({n}).", "save labels as integers 0..C-1, one per image")
    if len(y) and y.min() < 0:
        raise BarlowError(f"{where}:{key} holds negative labels ({int(y.min())}).", "number the classes 0..C-1")
    return y.astype(np.int64)


def _npz(path: Path, image_size: int | None) -> Dataset:
    try:
        f = np.load(path, allow_pickle=False)
    except Exception as exc:
        raise BarlowError(f"{path} is not a readable .npz file ({type(exc).__name__}: {exc}).",
                          "save arrays with numpy.savez(path, x_train=..., y_train=...)") from exc
    if not isinstance(f, np.lib.npyio.NpzFile):  # a single .npy array under an .npz name
        raise BarlowError(f"{path} holds one array, not named arrays.",
                          "save it with numpy.savez(path, x_train=..., y_train=..., [x_test=..., y_test=...])")
    with f:  # closes the file whatever happens next
        return _npz_arrays(f, path, image_size)


def _npz_arrays(f, path: Path, image_size: int | None) -> Dataset:
    keys = set(f.files)
    if "x_train" not in keys:
        raise BarlowError(f"{path} holds {sorted(keys)} but no 'x_train'.",
                          "save it with numpy.savez(path, x_train=..., y_train=..., [x_test=..., y_test=...])")
    try:
        x = _as_uint8_images(f["x_train"], f"{path}:x_train", image_size)
        y = _labels(f, "y_train", len(x), str(path)) if "y_train" in keys else None
        if "x_test" in keys and y is not None and "y_test" in keys:
            xt = _as_uint8_images(f["x_test"], f"{path}:x_test", image_size)
            if xt.shape[1:] != x.shape[1:]:
                raise BarlowError(f"{path}: x_test images are {xt.shape[1]} px but x_train images are {x.shape[1]} px.",
                                  "store both splits at one size, or pass `image_size` to resize both")
            return Dataset(path.name, x, y, xt, _labels(f, "y_test", len(xt), str(path)), "test",
                           about=f"arrays from {path.name}")
    except ValueError as exc:  # object arrays need pickling, which is refused
        raise BarlowError(f"{path} holds arrays that cannot be read safely ({exc}).",
                          "save plain numeric arrays (uint8 images, integer labels)") from exc
    except (OSError, EOFError, zipfile.BadZipFile) as exc:  # a member cut short
        raise BarlowError(f"{path} is damaged ({type(exc).__name__}: {exc}).",
                          "save it again with numpy.savez") from exc
    return Dataset(path.name, x, y, None, None, None, about=f"arrays from {path.name}")


def _as_uint8_images(x: np.ndarray, where: str, image_size: int | None) -> np.ndarray:
    if x.ndim != 4 or x.shape[-1] != 3 or len(x) == 0:
        raise BarlowError(f"{where} has shape {x.shape}; images must be (N, H, W, 3) with N >= 1.",
                          "stack RGB images into one array")
    if x.shape[1] != x.shape[2] and image_size is None:
        raise BarlowError(f"{where} holds {x.shape[2]}x{x.shape[1]} images; the networks take square images.",
                          images.RESIZE_FIX)
    if x.dtype != np.uint8:
        if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
            raise BarlowError(f"{where} has dtype {x.dtype}.", "store images as uint8 0..255 or floats in [0, 1]")
        if not np.all(np.isfinite(x)):
            raise BarlowError(f"{where} contains NaN or infinite values.", "clean or drop those images")
        lo, hi = float(x.min()), float(x.max())
        if lo < 0 or hi > 255:
            raise BarlowError(f"{where} holds values from {lo:.3g} to {hi:.3g}: neither [0, 1] nor [0, 255] (images "
                              "standardised to zero mean look like this).", "save the images before normalisation: "
                              "uint8 0..255, or floats in [0, 1]")
        scale = 255.0 if hi <= 1.0 else 1.0  # floats in [0, 1] or in [0, 255]
        x = np.round(x * scale).astype(np.uint8)
    return x if image_size is None else images.resize_array(x, image_size)


def _labeled_split(root: Path):
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    files, labels = [], []
    for i, c in enumerate(classes):
        found = images.list_images(root / c)
        files += found
        labels += [i] * len(found)
    return files, np.asarray(labels, np.int64), tuple(classes)


def _folder(path: Path, image_size: int | None) -> Dataset:
    train = path / "train" if (path / "train").is_dir() else path
    files, labels, classes = _labeled_split(train)
    if not files:  # no class subfolders with images: unlabeled images directly in the folder
        files, labels, classes = images.list_images(train), None, ()
        if not files:
            raise BarlowError(
                f"{train} holds no images ({', '.join(sorted(images.EXTENSIONS))}), directly or in class subfolders.",
                "point `source` at a folder laid out DIR/train/<class>/*.png, DIR/<class>/*.png or DIR/*.png")
    x = images.decode(files, image_size)
    about = f"Images from the folder {path.name}" + ("; its classes are CIFAR-10's." if classes == CIFAR10_CLASSES
                                                       else ".")
    if (path / "test").is_dir() and labels is not None:
        tfiles, tlabels, tclasses = _labeled_split(path / "test")
        if tclasses != classes:
            raise BarlowError(f"{path}/test has classes {list(tclasses)} but train has {list(classes)}.",
                              "give test/ the same class subfolders as train/")
        if tfiles:
            xt = images.decode(tfiles, image_size)
            if xt.shape[1:] != x.shape[1:]:
                raise BarlowError(f"{path}/test images are {xt.shape[1]} px but train images are {x.shape[1]} px.",
                                  images.RESIZE_FIX)
            return Dataset(path.name, x, labels, xt, tlabels, "test", classes, about=about)
    return Dataset(path.name, x, labels, None, None, None, classes, about=about)
