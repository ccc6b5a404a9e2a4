"""Every data source behind one call: ``load(source)``.

``source`` is ``"cifar10"`` (keras.datasets, the default), ``"synthetic"``, a
folder, or an ``.npz`` file. Images come back as uint8 (N, H, W, 3); the
augmentations run on the device, so no per-image pipeline is needed here.

Folders: ``DIR/train/<class>/*`` with an optional ``DIR/test/<class>/*``, or
``DIR/<class>/*``, or unlabeled images directly in ``DIR`` (pretraining only).
Grayscale, palette and RGBA images are converted to RGB (alpha is dropped);
images of different sizes are refused with the first offending file named.
Decoded folders are cached in ``$BARLOW_CACHE`` (default ``~/.cache/barlow_lib``).
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from . import synthetic
from .errors import BarlowError

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


@dataclasses.dataclass
class Dataset:
    """Training images (and labels, if any) plus an evaluation split."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray | None
    x_eval: np.ndarray | None
    y_eval: np.ndarray | None
    eval_split: str | None  # "test", "val-from-train", or None for unlabeled data
    classes: tuple = ()

    @property
    def image_size(self) -> int:
        return int(self.x_train.shape[1])

    def require_labels(self):
        if self.y_train is None or self.y_eval is None:
            raise BarlowError(
                f"{self.name} has no labels, so it cannot be evaluated.",
                "lay the images out as DIR/train/<class>/... (optionally DIR/test/<class>/...)",
            )


def load(source: str, *, limit: int | None = None, val_fraction: float = 0.1, seed: int = 0) -> Dataset:
    """Load a data source; ``limit`` keeps a random subset of N training images."""
    if source == "cifar10":
        ds = _cifar10()
    elif source == "synthetic":
        (x, y), (xt, yt) = synthetic.make(seed=seed)
        ds = Dataset("synthetic", x, y, xt, yt, "test", synthetic.CLASSES)
    else:
        path = Path(source).expanduser()
        if not path.exists():
            raise BarlowError(f"--data {source}: no such file or folder.",
                              "pass cifar10, synthetic, an image folder or an .npz file")
        ds = _npz(path) if path.is_file() else _folder(path)
    if ds.eval_split is None and ds.y_train is not None:
        ds = split_validation(ds, val_fraction)
    if limit is not None and limit < len(ds.x_train):
        keep = np.sort(np.random.default_rng(seed).permutation(len(ds.x_train))[:limit])
        ds.x_train = ds.x_train[keep]
        ds.y_train = None if ds.y_train is None else ds.y_train[keep]
    return ds


def split_validation(ds: Dataset, fraction: float = 0.1) -> Dataset:
    """Carve the last ``fraction`` of each class out of train as the evaluation split."""
    is_val = np.zeros(len(ds.y_train), bool)
    for c in np.unique(ds.y_train):
        idx = np.flatnonzero(ds.y_train == c)
        is_val[idx[len(idx) - max(1, int(round(len(idx) * fraction))):]] = True
    return dataclasses.replace(ds, x_train=ds.x_train[~is_val], y_train=ds.y_train[~is_val],
                               x_eval=ds.x_train[is_val], y_eval=ds.y_train[is_val], eval_split="val-from-train")


def _cifar10() -> Dataset:
    import keras

    try:
        (x, y), (xt, yt) = keras.datasets.cifar10.load_data()
    except Exception as exc:  # network down, throttled, corrupt cache
        raise BarlowError(
            f"could not download or read CIFAR-10 through keras.datasets ({exc}).",
            "retry later, or pass a local copy: --data DIR with DIR/train/<class>/*.png or an .npz",
        ) from exc
    return Dataset("cifar10", x, y.reshape(-1).astype(np.int64), xt, yt.reshape(-1).astype(np.int64),
                   "test", CIFAR10_CLASSES)


def _npz(path: Path) -> Dataset:
    try:
        f = np.load(path)
    except Exception as exc:
        raise BarlowError(f"{path} is not a readable .npz file ({exc}).",
                          "save arrays with numpy.savez(path, x_train=..., y_train=...)") from exc
    keys = set(f.files)
    if "x_train" not in keys:
        raise BarlowError(f"{path} holds {sorted(keys)} but no 'x_train'.",
                          "save it with numpy.savez(path, x_train=..., y_train=..., [x_test=..., y_test=...])")
    x = _as_uint8_images(f["x_train"], f"{path}:x_train")
    y = f["y_train"].reshape(-1).astype(np.int64) if "y_train" in keys else None
    if "x_test" in keys and y is not None and "y_test" in keys:
        xt = _as_uint8_images(f["x_test"], f"{path}:x_test")
        return Dataset(path.name, x, y, xt, f["y_test"].reshape(-1).astype(np.int64), "test")
    return Dataset(path.name, x, y, None, None, None)


def _as_uint8_images(x: np.ndarray, where: str) -> np.ndarray:
    if x.ndim != 4 or x.shape[-1] != 3:
        raise BarlowError(f"{where} has shape {x.shape}; images must be (N, H, W, 3).",
                          "stack RGB images into one array")
    if x.dtype == np.uint8:
        return x
    if not np.all(np.isfinite(x)):
        raise BarlowError(f"{where} contains NaN or infinite values.", "clean or drop those images")
    scale = 255.0 if x.max() <= 1.0 else 1.0
    return np.clip(np.round(x * scale), 0, 255).astype(np.uint8)


def _list_images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)


def _labeled_split(root: Path):
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    files, labels = [], []
    for i, c in enumerate(classes):
        found = _list_images(root / c)
        files += found
        labels += [i] * len(found)
    return files, np.asarray(labels, np.int64), tuple(classes)


def _folder(path: Path) -> Dataset:
    train = path / "train" if (path / "train").is_dir() else path
    files, labels, classes = _labeled_split(train)
    if not files:  # no class subfolders with images: unlabeled images directly in the folder
        files, labels, classes = _list_images(train), None, ()
        if not files:
            raise BarlowError(
                f"{train} holds no images ({', '.join(sorted(IMAGE_EXTENSIONS))}), directly or in class subfolders.",
                "point --data at a folder laid out DIR/train/<class>/*.png, DIR/<class>/*.png or DIR/*.png",
            )
    x = _decode_cached(files)
    if (path / "test").is_dir() and labels is not None:
        tfiles, tlabels, tclasses = _labeled_split(path / "test")
        if tclasses != classes:
            raise BarlowError(f"{path}/test has classes {list(tclasses)} but train has {list(classes)}.",
                              "give test/ the same class subfolders as train/")
        if tfiles:
            return Dataset(path.name, x, labels, _decode_cached(tfiles), tlabels, "test", classes)
    return Dataset(path.name, x, labels, None, None, None, classes)


def _decode_one(path: Path) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.load()
            return np.asarray(im.convert("RGB"), dtype=np.uint8)
    except Exception as exc:
        raise BarlowError(f"cannot decode image {path} ({type(exc).__name__}: {exc}); it is corrupt or truncated.",
                          "delete or replace that file") from exc


def _decode_cached(files: list[Path]) -> np.ndarray:
    """Decode with a progress bar, refusing mixed sizes; cache the result by file names, sizes and times."""
    key = hashlib.sha1()
    for p in files:
        st = p.stat()
        key.update(f"{p.resolve()}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    cache_dir = Path(os.environ.get("BARLOW_CACHE", Path.home() / ".cache" / "barlow_lib"))
    cached = cache_dir / f"images-{key.hexdigest()[:20]}.npy"
    if cached.exists():
        return np.load(cached)
    with ThreadPoolExecutor(max(2, os.cpu_count() or 2)) as pool:
        images = list(tqdm(pool.map(_decode_one, files), total=len(files), desc="decoding images", unit="img",
                           disable=len(files) < 2000, mininterval=2.0))
    first = images[0].shape
    for p, im in zip(files, images):
        if im.shape != first:
            raise BarlowError(
                f"images differ in size: {files[0]} is {first[1]}x{first[0]} but {p} is {im.shape[1]}x{im.shape[0]}.",
                "resize all images to one size first (e.g. 32x32)",
            )
    x = np.stack(images)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(f".{os.getpid()}.tmp.npy")
    np.save(tmp, x)
    os.replace(tmp, cached)
    return x
