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

from test_cli import ENV, as_from_a_terminal, assert_clean_error, cli, last_json

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


# ---- fixes that lead somewhere ------------------------------------------------------------------------

TRAIN = ("train", *SMOKE, "--data", "synthetic", "--limit", "128")


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    out = tmp_path_factory.mktemp("records") / "finished"
    assert last_json(cli(*TRAIN, "--epochs", "2", "--out", out))["complete"]
    return out


@pytest.fixture(scope="module")
def unfinished(tmp_path_factory):
    from barlow_lib import data, recipes, train

    out = tmp_path_factory.mktemp("records") / "unfinished"
    train.train(recipes.get("smoke").replace(epochs=2, batch_size=32), data.load("synthetic", limit=128), out,
                progress=False, max_epochs=1)
    return out


def copy(run, tmp_path) -> Path:
    return Path(shutil.copytree(run, tmp_path / "run"))


def test_limit_1_is_told_to_raise_the_limit_not_to_use_batch_size_1(tmp_path):
    proc = cli("train", *SMOKE, "--data", "synthetic", "--limit", "1", "--out", tmp_path / "r", check=False)
    assert_clean_error(proc, "--limit")
    assert "--batch-size 1" not in proc.stderr
    assert not (tmp_path / "r").exists()
    assert last_json(cli("train", *SMOKE, "--data", "synthetic", "--limit", "2", "--batch-size", "2",
                         "--out", tmp_path / "r"))["complete"]


def test_classes_of_one_image_are_told_to_add_a_test_split(tmp_path):
    root = class_folder(tmp_path / "d" / "train", classes=4, per_class=1, size=32)
    args = ("train", *SMOKE, "--batch-size", "2", "--data", tmp_path / "d", "--out", tmp_path / "r")
    proc = cli(*args, check=False)
    assert_clean_error(proc, "single image", "DIR/test/<class>")
    assert "batch-size" not in proc.stderr
    class_folder(tmp_path / "d" / "test", classes=4, per_class=1, size=32)  # the fix
    assert root.exists() and last_json(cli(*args))["complete"]


def test_a_nan_loss_is_told_to_start_a_new_folder_not_to_resume(tmp_path, monkeypatch):
    import keras

    real = keras.Model.train_on_batch
    monkeypatch.setattr(keras.Model, "train_on_batch", lambda self, *a, **k: {"loss": float("nan")})
    proc = cli(*TRAIN, "--out", tmp_path / "r", check=False)
    assert_clean_error(proc, "the loss became nan", "new folder", "lower --lr")
    assert "restart from it" not in proc.stderr
    monkeypatch.setattr(keras.Model, "train_on_batch", real)
    assert last_json(cli(*TRAIN, "--lr", "1e-4", "--out", tmp_path / "new"))["complete"]


@pytest.mark.parametrize("meta", [[1, 2], {"epoch": 1, "config": {}}, "text"], ids=["list", "no-history", "string"])
def test_a_checkpoint_whose_meta_is_not_what_save_writes_is_named_and_its_fix_works(unfinished, tmp_path, meta):
    run = copy(unfinished, tmp_path)
    ckpt = run / "checkpoints" / "last.npz"
    with np.load(ckpt) as f:
        arrays = {k: f[k] for k in f.files}
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    np.savez(ckpt, **arrays)
    args = (*TRAIN, "--epochs", "2", "--out", run)
    assert_clean_error(cli(*args, check=False), "last.npz is damaged", "history.json")
    ckpt.unlink()  # the fix: delete it and history.json
    (run / "history.json").unlink()
    assert last_json(cli(*args))["complete"]


def test_a_config_from_a_newer_version_is_not_called_damaged(finished, tmp_path):
    run = copy(finished, tmp_path)
    config = json.loads((run / "config.json").read_text())
    config["recipe"]["model"]["attention"] = True
    (run / "config.json").write_text(json.dumps(config))
    proc = cli("evaluate", "--run", run, "--quiet", check=False)
    assert_clean_error(proc, "newer barlow_lib", "model.attention", "train again into a new folder")
    assert "damaged" not in proc.stderr


def test_an_npz_data_file_is_closed_after_loading(tmp_path, monkeypatch):
    from barlow_lib import data

    np.savez(tmp_path / "d.npz", x_train=np.zeros((8, 8, 8, 3), np.uint8), y_train=np.arange(8) % 2)
    opened, real = [], np.load
    monkeypatch.setattr(np, "load", lambda *a, **k: opened.append(real(*a, **k)) or opened[-1])
    data.load(str(tmp_path / "d.npz"))
    assert opened and all(f.fid is None and f.zip is None for f in opened), "the .npz file was left open"


# ---- records: whole or not at all, never over another, from read-only runs ----------------------------

class Killed(BaseException):
    """Stands for SIGKILL inside the process: nothing after it runs (not even `except Exception`)."""


def tiny_data(path: Path, classes=2, n=72, size=16, **extra) -> Path:
    """Labelled images whose validation split (8 images) is smaller than t-SNE's usual perplexity of 30."""
    rng = np.random.default_rng(0)
    y = np.arange(n) % classes
    x = (rng.integers(0, 100, (n, size, size, 3)) + 60 * y[:, None, None, None]).astype(np.uint8)
    np.savez(path, x_train=x, y_train=y, **extra)
    return path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A finished run on tiny data (its data file beside it)."""
    root = tmp_path_factory.mktemp("tiny")
    data = tiny_data(root / "tiny.npz", n=400)  # 40 evaluation images: more than t-SNE's usual perplexity
    assert last_json(cli("train", *SMOKE, "--data", data, "--out", root / "run"))["complete"]
    return root / "run"


RECORD = ("--no-supervised", "--quiet")


@pytest.fixture(scope="module")
def recorded(tiny, tmp_path_factory):
    out = tmp_path_factory.mktemp("recorded") / "tiny"
    last_json(cli("record", "--run", tiny, "--out", out, *RECORD))
    return out


class Measured(BaseException):
    """Raised at the first measurement: what happened before it is the check that the run finished."""


def test_record_loads_no_model_to_check_that_the_run_finished(tiny, tmp_path, monkeypatch):
    from barlow_lib import runs

    def load_model(path):
        raise AssertionError(f"{path} was loaded only to check that the run finished")

    def evaluate(self, *a, **k):
        raise Measured()

    monkeypatch.setattr(runs, "_load_model", load_model)
    monkeypatch.setattr(runs.Run, "evaluate", evaluate)
    with pytest.raises(Measured):
        cli("record", "--run", tiny, "--out", tmp_path / "rec", *RECORD)


def test_the_record_is_listed_and_loads(recorded, monkeypatch):
    from barlow_lib import records

    monkeypatch.setenv("BARLOW_RECORDS", str(recorded.parent))
    assert records.available() == ["tiny"]
    rec = records.load("tiny")
    assert rec["n_eval"] == 40 and rec.arrays["map_trained"].shape == (40, 2)
    assert rec["map"]["perplexity"] == records.perplexity(40) < 30 == records.perplexity(1000)  # the book's: 30
    # On a CPU the record measures the machine's float32 matmul roof beside the training time, and says it
    from barlow_lib.chapters import recorded as shown

    assert rec["cpu_float32_matmul_roof_gflops"] > 1 and rec["cpu_float32_matmul_roof_measured"] == "when recorded"
    assert f"roof: {rec['cpu_float32_matmul_roof_gflops']:.0f} GFLOP/s" in shown.mention(rec)


def test_a_cpu_training_measures_its_roof_as_it_ends_and_the_record_keeps_that_one(tmp_path, monkeypatch):
    """The roof beside a record's training time is the training's cores', not whatever ran beside ``record``."""
    from barlow_lib import hardware, session

    monkeypatch.setattr(session, "ROOF_AFTER_SECONDS", 0.0)  # the smoke training is too short to measure it
    data = tiny_data(tmp_path / "tiny.npz", n=400)
    cli("train", *SMOKE, "--data", data, "--out", tmp_path / "run")
    roof = json.loads((tmp_path / "run" / "provenance.json").read_text())["end"]["cpu_float32_matmul_roof_gflops"]
    assert roof > 1

    def measured_again(*args, **kwargs):
        raise AssertionError("record measured the roof again")
    monkeypatch.setattr(hardware, "matmul_roof", measured_again)
    cli("record", "--run", tmp_path / "run", "--out", tmp_path / "rec", *RECORD)
    rec = json.loads((tmp_path / "rec" / "record.json").read_text())
    assert (rec["cpu_float32_matmul_roof_gflops"], rec["cpu_float32_matmul_roof_measured"]) == (roof, "after training")


def test_a_roof_that_cannot_be_measured_leaves_the_training_complete(tmp_path, monkeypatch):
    """The roof is measured beside the finished run: its failure must not cost the run its last step."""
    import subprocess

    from barlow_lib import hardware, session

    def broken(*args, **kwargs):
        raise subprocess.CalledProcessError(1, "python")
    monkeypatch.setattr(session, "ROOF_AFTER_SECONDS", 0.0)
    monkeypatch.setattr(hardware, "matmul_roof", broken)
    assert last_json(cli("train", *SMOKE, "--data", tiny_data(tmp_path / "t.npz"), "--out", tmp_path / "run"))[
        "complete"]
    assert "cpu_float32_matmul_roof_gflops" not in json.loads((tmp_path / "run" / "provenance.json").read_text())["end"]


def test_a_record_of_an_evaluation_split_smaller_than_the_perplexity(tmp_path, monkeypatch):
    from barlow_lib import records

    data = tiny_data(tmp_path / "small.npz")  # 8 evaluation images
    cli("train", *SMOKE, "--data", data, "--out", tmp_path / "run")
    last_json(cli("record", "--run", tmp_path / "run", "--out", tmp_path / "recs" / "small", *RECORD))
    monkeypatch.setenv("BARLOW_RECORDS", str(tmp_path / "recs"))
    rec = records.load("small")
    assert rec["n_eval"] == 8 and rec["map"]["images"] == 8 and rec["map"]["perplexity"] < 8
    assert rec.arrays["map_trained"].shape == (8, 2) and np.isfinite(rec.arrays["map_trained"]).all()


def test_the_committed_book_record_still_loads():
    """Whichever format wrote it: older records name no arrays; newer ones list them, and every one is there."""
    from barlow_lib import records

    rec = records.load("cpu")
    assert rec is not None and rec.arrays["map_trained"].shape[1] == 2
    assert set(rec.data.get("arrays", rec.arrays)) <= set(rec.arrays)


def test_a_killed_record_leaves_nothing_that_looks_like_a_record(tiny, tmp_path, monkeypatch):
    from barlow_lib import files, records

    monkeypatch.setenv("BARLOW_RECORDS", str(tmp_path))
    real = files.atomic_write

    def dying(path, write):
        if Path(path).name == "arrays.npz":
            raise Killed(path)
        return real(path, write)

    monkeypatch.setattr(files, "atomic_write", dying)
    with pytest.raises(Killed):
        cli("record", "--run", tiny, "--out", tmp_path / "rec", *RECORD)
    monkeypatch.setattr(files, "atomic_write", real)
    assert records.available() == [] and records.load("rec") is None
    # a SIGKILL leaves the hidden staging folder itself: never listed, removed by the next record
    stale = tmp_path / f".rec{files.TEMP_MARK}999999999"
    stale.mkdir()
    (stale / "record.json").write_text("{}")
    assert records.available() == []
    last_json(cli("record", "--run", tiny, "--out", tmp_path / "rec", *RECORD))
    assert records.available() == ["rec"] and records.load("rec")["n_eval"] == 40
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec"], "a temporary file or folder was left behind"


def test_a_second_record_is_refused_before_measuring_and_moved_data_can_be_named(tiny, recorded, tmp_path,
                                                                                  monkeypatch):
    from barlow_lib import runs

    before = {p.name: p.read_bytes() for p in recorded.iterdir()}
    real_evaluate = runs.Run.evaluate

    def no_measuring(self, *a, **k):
        raise AssertionError("measured before checking --out")

    monkeypatch.setattr(runs.Run, "evaluate", no_measuring)
    assert_clean_error(cli("record", "--run", tiny, "--out", recorded, *RECORD, check=False),
                       "already holds a record", "another folder")
    assert {p.name: p.read_bytes() for p in recorded.iterdir()} == before
    (tmp_path / "file").write_text("x")
    assert_clean_error(cli("record", "--run", tiny, "--out", tmp_path / "file" / "rec", *RECORD, check=False),
                       "could not write")
    monkeypatch.setattr(runs.Run, "evaluate", real_evaluate)
    # the fix: another folder; the run's data has moved meanwhile, and --data says where it is now
    run = copy(tiny, tmp_path)
    moved = shutil.copy(tiny.parent / "tiny.npz", tmp_path / "moved.npz")
    config = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**config, "data": str(tmp_path / "gone.npz")}))
    assert_clean_error(cli("record", "--run", run, "--out", tmp_path / "rec", *RECORD, check=False),
                       "gone.npz", "--data")
    assert not (tmp_path / "rec").exists()
    last_json(cli("record", "--run", run, "--out", tmp_path / "rec", "--data", moved, *RECORD))
    assert json.loads((tmp_path / "rec" / "record.json").read_text())["n_eval"] == 40


def test_two_records_into_one_folder_the_later_one_is_refused(tiny, tmp_path, monkeypatch):
    from barlow_lib import records

    out = tmp_path / "rec"
    real = records._pictures

    def another_process_finishes_first(*a, **k):
        out.mkdir()
        (out / "record.json").write_text('{"theirs": true}')
        (out / "arrays.npz").write_bytes(b"theirs")
        return real(*a, **k)

    monkeypatch.setattr(records, "_pictures", another_process_finishes_first)
    assert_clean_error(cli("record", "--run", tiny, "--out", out, *RECORD, check=False), "already holds a record")
    assert (out / "record.json").read_text() == '{"theirs": true}' and (out / "arrays.npz").read_bytes() == b"theirs"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec"]


def test_a_damaged_or_mismatched_record_is_named(recorded, tmp_path, monkeypatch):
    from barlow_lib import records
    from barlow_lib.errors import BarlowError

    monkeypatch.setenv("BARLOW_RECORDS", str(tmp_path))
    torn = Path(shutil.copytree(recorded, tmp_path / "torn"))
    arrays = torn / "arrays.npz"
    arrays.write_bytes(arrays.read_bytes()[: arrays.stat().st_size // 2])
    with pytest.raises(BarlowError, match="arrays.npz"):
        records.load("torn")
    mixed = Path(shutil.copytree(recorded, tmp_path / "mixed"))  # a record.json beside another record's arrays
    data = json.loads((mixed / "record.json").read_text())
    data.pop("arrays")  # as records written before the list were
    data["map"]["images"] = 1000
    (mixed / "record.json").write_text(json.dumps(data))
    with pytest.raises(BarlowError, match="different records"):
        records.load("mixed")


@pytest.mark.skipif(subprocess.run(["unshare", "-rm", "true"], capture_output=True).returncode != 0,
                    reason="needs `unshare -rm` (user and mount namespaces)")
def test_a_finished_run_on_read_only_media_can_be_recorded(tiny, tmp_path):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    env = {**ENV, "MNT": str(mnt), "PY": sys.executable, "BARLOW_CACHE": str(tmp_path / "cache")}
    proc = subprocess.run(["unshare", "-rm", "bash", "-c", f"""
        mount -t tmpfs -o size=64m tmpfs "$MNT" || exit 99
        cp -r "{tiny}" "$MNT/run" && mount -o remount,ro "$MNT" || exit 98
        "$PY" -m barlow_lib record --run "$MNT/run" --out "{tmp_path}/rec" {' '.join(RECORD)}; echo "rc=$?"
        """], capture_output=True, text=True, env=env, timeout=600, cwd=Path(__file__).parents[1])
    assert "rc=0" in proc.stdout, proc.stdout + proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr and (tmp_path / "rec" / "arrays.npz").exists()


def test_a_history_longer_than_the_checkpoint_on_a_finished_run_is_rewritten(tiny, tmp_path):
    run = copy(tiny, tmp_path)
    good = json.loads((run / "history.json").read_text())
    longer = {k: v + v if isinstance(v, list) else v for k, v in good.items()}  # a second, phantom epoch
    (run / "history.json").write_text(json.dumps(longer))
    data = json.loads((run / "config.json").read_text())["data"]
    assert last_json(cli("train", *SMOKE, "--data", data, "--out", run))["epochs"] == 1
    assert json.loads((run / "history.json").read_text()) == good


# ---- evaluations: degenerate ones said, other data kept apart, paths from anywhere ----------------------

def test_evaluating_other_data_keeps_the_runs_own_result(tiny, tmp_path):
    run = copy(tiny, tmp_path)
    own = last_json(cli("evaluate", "--run", run, "--quiet"))
    saved = (run / "eval-knn.json").read_bytes()
    other = tiny_data(tmp_path / "other.npz", n=40)
    theirs = last_json(cli("evaluate", "--run", run, "--data", other, "--quiet"))
    assert (run / "eval-knn.json").read_bytes() == saved and own["data"] != theirs["data"]
    (kept,) = run.glob("eval-knn-data-other*.json")
    assert json.loads(kept.read_text())["data"] == theirs["data"]


def test_evaluate_on_data_of_another_size_suggests_a_flag_it_has(tiny, tmp_path):
    other = tiny_data(tmp_path / "big.npz", size=24)
    assert_clean_error(cli("evaluate", "--run", tiny, "--data", other, check=False), "--image-size 16")
    assert last_json(cli("evaluate", "--run", tiny, "--data", other, "--image-size", "16", "--quiet"))["n_eval"] == 8


def test_degenerate_evaluations_are_refused_or_warned(tiny, tmp_path):
    one = tiny_data(tmp_path / "one.npz", classes=1, n=40)
    assert_clean_error(cli("evaluate", "--run", tiny, "--data", one, check=False), "one class")
    unseen = tiny_data(tmp_path / "unseen.npz", n=40, x_test=np.zeros((4, 16, 16, 3), np.uint8),
                       y_test=np.array([0, 1, 2, 2]))
    proc = cli("evaluate", "--run", tiny, "--data", unseen, "--quiet")
    assert "warning: class 2 has evaluation images but no training images" in proc.stderr
    proc = cli("evaluate", "--run", tiny, "--protocol", "linear", "--limit", "6", "--quiet")
    assert "warning: the linear probe has 6 training images, too few" in proc.stderr
    quiet = cli("evaluate", "--run", tiny, "--protocol", "linear", "--quiet")
    assert "warning" not in quiet.stderr  # an ordinary evaluation warns of nothing


def test_a_relative_data_path_is_stored_so_the_run_works_from_any_folder(tmp_path, monkeypatch):
    (tmp_path / "a").mkdir()
    tiny_data(tmp_path / "a" / "d.npz")
    monkeypatch.chdir(tmp_path / "a")
    cli("train", *SMOKE, "--data", "d.npz", "--out", tmp_path / "run")
    monkeypatch.chdir(tmp_path)
    assert last_json(cli("evaluate", "--run", tmp_path / "run", "--quiet"))["n_eval"] == 8
    # a run that stored the path as typed (earlier versions) resumes from where it was typed
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    (tmp_path / "run" / "config.json").write_text(json.dumps({**config, "data": "a/d.npz"}))
    assert "nothing to train" in cli("train", *SMOKE[:-1], "--data", "a/d.npz", "--out", tmp_path / "run").stdout


# ---- previews: an image file whole or not at all -----------------------------------------------------

def test_a_preview_with_an_unknown_extension_is_refused_before_reading_data_and_the_fix_works(tmp_path):
    proc = cli("augment-preview", "--data", tmp_path / "nowhere", "--out", tmp_path / "views.xyz", check=False)
    assert_clean_error(proc, ".xyz", "end --out with .png", f"--out {tmp_path / 'views'}.png")
    assert not list(tmp_path.iterdir())
    cli("augment-preview", "--out", tmp_path / "views.png", "--n", "2")
    assert Image.open(tmp_path / "views.png").format == "PNG"


@pytest.mark.parametrize("fault", ["kill", "full-disk"])
def test_a_preview_that_fails_as_it_writes_leaves_the_previous_one_whole(tmp_path, monkeypatch, fault):
    import errno

    from matplotlib.figure import Figure

    out = tmp_path / "views.png"
    cli("augment-preview", "--out", out, "--n", "2")
    good = out.read_bytes()
    real = Figure.savefig

    def failing(self, fname, *a, **k):
        Path(fname).write_bytes(b"\x89PNG\r\n")  # the first bytes, then the fault
        if fault == "kill":
            raise Killed(fname)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", failing)
    if fault == "kill":
        with pytest.raises(Killed):
            cli("augment-preview", "--out", out, "--n", "3")
    else:
        assert_clean_error(cli("augment-preview", "--out", out, "--n", "3", check=False), "could not write",
                           "No space left", "free some space")
    monkeypatch.setattr(Figure, "savefig", real)
    assert out.read_bytes() == good and sorted(p.name for p in tmp_path.iterdir()) == ["views.png"]


# ---- signals: Ctrl-C while TensorFlow imports, SIGTERM while training ----------------------------------

def test_ctrl_c_while_starting_says_so_without_a_traceback(tmp_path):
    for delay in (0.5, 2.0):
        proc = subprocess.Popen([sys.executable, "-m", "barlow_lib", "info", "--recipe", "smoke"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
                                preexec_fn=as_from_a_terminal)
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 130, (delay, proc.returncode, err[-2000:])
        assert "Traceback" not in err and err.startswith("error: interrupted") and "fix: run the same command" in err


def test_sigterm_while_training_says_how_to_resume(tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "barlow_lib", "train", "--recipe", "smoke", "--data", "synthetic", "--epochs", "4",
           "--limit", "512", "--batch-size", "32", "--quiet", "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
                            preexec_fn=as_from_a_terminal)
    deadline = time.time() + 240
    while time.time() < deadline and not (out / "history.json").exists() and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err[-2000:]
    assert "Traceback" not in err and "error: stopped by SIGTERM" in err and "it resumes after" in err
    resumed = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=300)
    assert resumed.returncode == 0 and json.loads(resumed.stdout.splitlines()[-1])["complete"], resumed.stderr[-2000:]
