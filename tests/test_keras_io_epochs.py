"""bench/keras_io_epochs.py: the control keeps exactly the four bugs, and a dry run resumes its runs epoch by epoch."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT / "bench"))
import ablate  # noqa: E402
import keras_io_epochs  # noqa: E402


def test_the_control_differs_from_the_fixed_recipe_only_in_the_four_bugs():
    fixed, kept = keras_io_epochs.variant_recipe("fixed"), keras_io_epochs.variant_recipe("bugs-kept")
    assert ablate.changes(fixed, kept) == {
        "augment.solarize_prob": [0.2, 0.0],  # bug 1: solarize never fires
        "augment.flip_prob": [0.5, 0.25],  # bug 2: a 50% gate around a 50% flip
        "augment.crop_max": [1.0, 31 / 32],  # bug 3: the crop never keeps the whole side
        "augment.blur_sigma_min": [0.1, keras_io_epochs.FROZEN_SIGMA],  # bug 4: one sigma for the whole run
        "augment.blur_sigma_max": [1.0, keras_io_epochs.FROZEN_SIGMA]}
    assert fixed.to_dict() == keras_io_epochs.recipes.get("keras-io").to_dict()  # the recipe as it ships
    assert fixed.epochs == 160 and fixed.batch_size == 512


def test_the_relative_difference_is_signed_and_relative_to_the_published_loss():
    assert keras_io_epochs.relative([110.0, 90.0], [100.0, 100.0, 100.0]) == [0.1, -0.1]


def _run(tmp_path, *args):
    cmd = [sys.executable, str(ROOT / "bench/keras_io_epochs.py"), "--data", "synthetic", "--recipe", "smoke",
           "--limit", "128", "--variants", "fixed", "--work", str(tmp_path / "runs"),
           "--out", str(tmp_path / "out.json"), *args]
    env = os.environ | {"PYTHONPATH": str(ROOT)}  # the library of this checkout, installed or not
    return subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, env=env)


def test_an_epoch_count_outside_the_recipe_is_refused_with_a_fix_and_writes_nothing(tmp_path):
    done = _run(tmp_path, "--epochs", "13")  # the smoke recipe has 12
    assert done.returncode == 2 and "error: --epochs 13" in done.stderr and "fix: give --epochs" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "out.json").exists()


@pytest.mark.integration  # a twin's compile per call: outside the 5-minute unit suite
def test_a_dry_run_records_epochs_of_the_whole_schedule_and_a_larger_count_continues_the_same_run(tmp_path):
    assert _run(tmp_path, "--epochs", "1").returncode == 0
    written = json.loads((tmp_path / "out.json").read_text())
    assert written["scheduling"] == keras_io_epochs._scheduling() and written["recipe"] == "smoke"  # inherited
    first = written["variants"]["fixed"]
    assert first["epochs"] == "epochs 1-1 of 12" and len(first["loss"]) == 1
    done = _run(tmp_path, "--epochs", "2")
    assert done.returncode == 0, done.stderr
    assert "epochs 2-2" in done.stdout  # epoch 1 was not trained again
    second = json.loads((tmp_path / "out.json").read_text())["variants"]["fixed"]
    assert second["epochs"] == "epochs 1-2 of 12" and second["loss"][0] == first["loss"][0]
    assert second["published_loss"] == keras_io_epochs.keras_io_reference.published_log()["loss_per_epoch"][:2]
    assert second["relative_difference"] == keras_io_epochs.relative(second["loss"], second["published_loss"])


@pytest.mark.integration  # trains two smoke runs
def test_a_stop_during_the_second_variant_keeps_the_first_variants_epochs_in_the_file(tmp_path, monkeypatch):
    import argparse

    args = argparse.Namespace(data="synthetic", limit=128, recipe="smoke", epochs=1, variants=["fixed", "bugs-kept"],
                              work=str(tmp_path / "runs"), out=str(tmp_path / "out.json"))
    keras_io_epochs.compare(args)
    real, calls = keras_io_epochs.train.train, []

    def stops_at_the_second(*a, **k):
        calls.append(a[2])
        if len(calls) == 2:
            raise KeyboardInterrupt  # Ctrl-C while the control trains its epoch 2
        return real(*a, **k)

    monkeypatch.setattr(keras_io_epochs.train, "train", stops_at_the_second)
    with pytest.raises(KeyboardInterrupt):
        keras_io_epochs.compare(argparse.Namespace(**{**vars(args), "epochs": 2}))
    written = json.loads((tmp_path / "out.json").read_text())["variants"]
    assert written["fixed"]["epochs"] == "epochs 1-2 of 12" and written["bugs-kept"]["epochs"] == "epochs 1-1 of 12"
