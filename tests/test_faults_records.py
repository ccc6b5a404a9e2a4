"""Fault round on records, previews, image files and run folders: nothing half-written, no traceback, every
`fix:` a step that works (each test that meets a fix follows it once), no silent overwrite.

Part of the fault-injection suite: `pytest -m faults`.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from test_cli import ENV, assert_clean_error, cli, last_json

pytestmark = pytest.mark.faults

SMOKE = ("--recipe", "smoke", "--epochs", "1", "--batch-size", "32", "--quiet")


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("BARLOW_CACHE", str(tmp_path / "cache"))


def class_folder(root: Path, classes=2, per_class=3, size=8, save=None) -> Path:
    for c in range(classes):
        (root / f"c{c}").mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            im = Image.fromarray(np.full((size, size, 3), 30 * c + 10 * i, np.uint8))
            (save or (lambda im, p: im.save(p)))(im, root / f"c{c}" / f"{i}.png")
    return root


# ---- image files -------------------------------------------------------------------------------------

def test_a_file_name_that_is_not_utf8_is_read(tmp_path):
    from barlow_lib import data

    root = class_folder(tmp_path / "imgs")
    odd = os.fsdecode(b"caf\xe9.png")  # Latin-1 bytes: not valid UTF-8, a surrogate in Python
    Image.fromarray(np.full((8, 8, 3), 200, np.uint8)).save(root / "c0" / odd)
    ds = data.load(str(root))
    assert len(ds.x_train) + len(ds.x_eval) == 7


def test_macos_resource_fork_files_are_not_read_as_images(tmp_path):
    from barlow_lib import data

    root = class_folder(tmp_path / "imgs")
    (root / "c0" / "._0.png").write_bytes(b"\x00\x05\x16\x07 AppleDouble resource fork")
    ds = data.load(str(root))
    assert len(ds.x_train) + len(ds.x_eval) == 6


def _grey16(value):
    return Image.fromarray(np.full((8, 8), value, np.uint16))


def _palette(value):
    im = Image.new("P", (8, 8), 1)
    im.putpalette([0, 0, 0, value, value, value])
    return im


# (mode Pillow hands over, how to write the file, the grey level it must decode to)
MODES = [
    ("16-bit PNG", lambda p: _grey16(32896).save(p.with_suffix(".png")), 128),
    ("I;16 TIFF", lambda p: _grey16(257 * 100).save(p.with_suffix(".tif")), 100),
    ("I (32-bit) TIFF", lambda p: Image.fromarray(np.full((8, 8), 257 * 60, np.int32)).save(p.with_suffix(".tif")),
     60),
    ("CMYK JPEG", lambda p: Image.new("CMYK", (8, 8), (0, 0, 0, 0)).save(p.with_suffix(".jpg"), quality=100), 255),
    ("palette PNG", lambda p: _palette(90).save(p.with_suffix(".png")), 90),
    ("LA PNG", lambda p: Image.new("LA", (8, 8), (70, 0)).save(p.with_suffix(".png")), 70),
]


@pytest.mark.parametrize("name,write,grey", MODES, ids=[m[0] for m in MODES])
def test_every_image_mode_decodes_to_its_grey_level(tmp_path, name, write, grey):
    from barlow_lib import images

    write(tmp_path / "im")
    (path,) = tmp_path.glob("im.*")
    x = images.decode([path])
    assert x.shape == (1, 8, 8, 3) and x.dtype == np.uint8
    assert np.abs(x.astype(int) - grey).max() <= 1, (name, x[0, 0, 0])


def test_floating_point_images_are_refused_with_a_fix_that_works(tmp_path):
    root = class_folder(tmp_path / "imgs", size=32)
    bad = root / "c1" / "float.tif"
    Image.fromarray(np.full((32, 32), 0.5, np.float32)).save(bad)
    args = ("train", *SMOKE, "--batch-size", "2", "--data", root, "--out", tmp_path / "run")
    assert_clean_error(cli(*args, check=False), "float.tif", "floating-point", "8-bit or 16-bit PNG")
    Image.fromarray(np.full((32, 32), 32768, np.uint16)).save(bad.with_suffix(".png"))  # the fix
    bad.unlink()
    assert last_json(cli(*args))["complete"]


def test_a_valid_very_large_image_is_not_called_corrupt(tmp_path):
    root = class_folder(tmp_path / "imgs", size=32)
    big = root / "c0" / "huge.png"
    Image.new("1", (14_000, 14_000)).save(big)  # 196 megapixels: past Pillow's decompression-bomb limit
    args = ("train", *SMOKE, "--batch-size", "2", "--data", root, "--out", tmp_path / "run")
    proc = cli(*args, check=False)
    assert_clean_error(proc, "huge.png", "too large", "scale that file down")
    assert "corrupt" not in proc.stderr
    shutil.move(big, tmp_path / "huge.png")  # the fix: move it out of the folder
    assert last_json(cli(*args))["complete"]
