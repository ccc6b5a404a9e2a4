"""Image files into one uint8 array: decoding, one square size for all, and a cache of the result.

Images of one square size up to ``MAX_SIDE`` px are used as they are. Anything else (mixed sizes,
non-square or larger images) needs an explicit ``image_size``: every image is then scaled so that its
shorter side is ``image_size`` and centre-cropped to a square, one file at a time, so a folder of
4000 px photos never sits in memory at full size. Grayscale, palette, CMYK and RGBA images become RGB
(alpha is dropped); 16-bit images are scaled to 8 bits; floating-point ones are refused. Hidden files
(macOS's ``._name`` among them) are skipped. Decoded folders are cached in ``$BARLOW_CACHE`` (default
``~/.cache/barlow_lib``); a cache file that cannot be read is rebuilt.
"""
from __future__ import annotations

import hashlib
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from . import console
from .errors import BarlowError

EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
MAX_SIDE = 256  # 50,000 RGB images of 256 px take 9.8 GB; larger ones must be resized as they are read
RESIZE_FIX = "pass `image_size` N to scale every image's shorter side to N px and centre-crop it (e.g. 32 or 64)"


def list_images(folder: Path) -> list[Path]:
    """Image files in ``folder``; hidden ones (macOS's ``._name.jpg`` resource forks among them) are not images."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in EXTENSIONS
                  and not p.name.startswith("."))


def square(image, size: int):
    """A PIL image scaled so its shorter side is ``size``, centre-cropped to ``size`` x ``size``."""
    from PIL import Image

    w, h = image.size
    scale = size / min(w, h)
    image = image.resize((max(size, round(w * scale)), max(size, round(h * scale))), Image.Resampling.BICUBIC,
                         reducing_gap=3.0)
    left, top = (image.size[0] - size) // 2, (image.size[1] - size) // 2
    return image.crop((left, top, left + size, top + size))


def resize_array(images: np.ndarray, size: int) -> np.ndarray:
    """uint8 (N, H, W, 3) images as (N, size, size, 3), by ``square``."""
    from PIL import Image

    if images.shape[1] == images.shape[2] == size:
        return images
    return np.stack([np.asarray(square(Image.fromarray(im), size)) for im in images])


def to_rgb(im, path):
    """An 8-bit RGB copy of a decoded PIL image, whatever its mode.

    Pillow's own ``convert("RGB")`` clips 16-bit and 32-bit integer pixels at 255 (a 16-bit PNG turns almost
    white), so those are scaled from 0..65535 first; floating-point pixels have no agreed range and are refused.
    """
    from PIL import Image

    if im.mode.startswith("I;16") or im.mode == "I":
        a = np.asarray(im).astype(np.int64)
        if a.size and (a.min() < 0 or a.max() > 65535):
            raise BarlowError(f"image {path} holds 32-bit pixel values ({a.min()}..{a.max()}), beyond 16 bits.",
                              "save it as an 8-bit or 16-bit PNG")
        return Image.fromarray(np.round(a / 257.0).astype(np.uint8)).convert("RGB")
    if im.mode == "F":
        raise BarlowError(f"image {path} holds floating-point pixels (mode F), which have no agreed range.",
                          "save it as an 8-bit or 16-bit PNG")
    return im.convert("RGB")


def _unreadable(path: Path, exc: Exception) -> BarlowError:
    from PIL import Image

    if isinstance(exc, Image.DecompressionBombError):  # a valid image, only larger than Pillow will decode
        return BarlowError(f"image {path} is too large to decode safely ({exc}).",
                           "scale that file down (to a few thousand px a side), or move it out of the folder")
    return BarlowError(f"cannot decode image {path} ({type(exc).__name__}: {exc}); it is corrupt or truncated.",
                       "delete or replace that file")


def _decode_one(path: Path, size: int | None) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.load()
            im = to_rgb(im, path)
            return np.asarray(square(im, size) if size else im, dtype=np.uint8)
    except BarlowError:
        raise
    except Exception as exc:
        raise _unreadable(path, exc) from exc


def _header_size(path: Path) -> tuple[int, int]:
    from PIL import Image

    try:
        with Image.open(path) as im:
            return im.size
    except Exception as exc:
        raise _unreadable(path, exc) from exc


def check_sizes(files: list[Path]):
    """Refuse, before decoding anything, images that need ``image_size``: mixed, non-square or large."""
    sizes = [_header_size(p) for p in files]
    first = sizes[0]
    for p, s in zip(files, sizes):
        if s != first:
            raise BarlowError(f"images differ in size: {files[0]} is {first[0]}x{first[1]} but {p} is {s[0]}x{s[1]}.",
                              RESIZE_FIX)
    w, h = first
    if w != h:
        raise BarlowError(f"the images are {w}x{h} px; the networks take square images.", RESIZE_FIX)
    if w > MAX_SIDE:
        gb = len(files) * w * h * 3 / 1e9
        raise BarlowError(f"the images are {w}x{h} px: {len(files)} of them would take {gb:.1f} GB of memory, and "
                          f"every step would cost {(w / 32) ** 2:.0f}x a 32 px step.", RESIZE_FIX)


def _cache_path(files: list[Path], size: int | None) -> Path:
    key = hashlib.sha1(f"size={size}\n".encode())
    for p in files:
        st = p.stat()
        key.update(os.fsencode(p.resolve()) + f"|{st.st_size}|{st.st_mtime_ns}\n".encode())  # any file name
    cache_dir = Path(os.environ.get("BARLOW_CACHE", Path.home() / ".cache" / "barlow_lib"))
    return cache_dir / f"images-{key.hexdigest()[:20]}.npy"


def _read_cache(path: Path) -> np.ndarray | None:
    try:
        x = np.load(path, allow_pickle=False)
        if x.dtype == np.uint8 and x.ndim == 4:
            return x
    except (OSError, ValueError, EOFError):
        pass
    path.unlink(missing_ok=True)  # unreadable: decode again
    return None


def _write_cache(path: Path, x: np.ndarray):
    tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}.npy")
    try:  # a cache is a convenience: a full or read-only disk only costs the next run a decode
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(tmp, x)
        os.replace(tmp, path)
    except OSError:
        pass
    finally:
        tmp.unlink(missing_ok=True)


def decode(files: list[Path], image_size: int | None = None) -> np.ndarray:
    """uint8 (N, S, S, 3) for image files, from the cache when nothing changed."""
    cached = _cache_path(files, image_size)
    if cached.exists() and (x := _read_cache(cached)) is not None:
        return x
    if image_size is None:
        check_sizes(files)
    with ThreadPoolExecutor(max(2, os.cpu_count() or 2)) as pool:
        images = list(tqdm(pool.map(lambda p: _decode_one(p, image_size), files), total=len(files),
                           desc="decoding images", unit="img", mininterval=2.0,
                           disable=len(files) < 2000 or not console.redraws(sys.stderr)))
    x = np.stack(images)
    _write_cache(cached, x)
    return x
