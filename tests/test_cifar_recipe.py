"""The `cpu` recipe on real CIFAR-10 images, exactly as a user runs it (half an hour on 2 slow cores).

Runs only when BARLOW_CIFAR_JPEG names an unpacked copy of the CIFAR-10 training JPEGs
(DIR/train/<class>/*.jpg; .ci/run sets it when ../shared holds the archive); skipped otherwise.
Evaluation is on the validation split carved from train (the archive has no test split).
Wall time is reported, not asserted; the recorded run (results/runs/cpu) holds the measured figure.
"""
import json
import os
import subprocess
import sys
import time

import pytest

DATA = os.environ.get("BARLOW_CIFAR_JPEG")
pytestmark = [pytest.mark.cifar, pytest.mark.skipif(not DATA, reason="BARLOW_CIFAR_JPEG is not set")]


def cli(*args):
    proc = subprocess.run([sys.executable, "-m", "barlow_lib", *args], capture_output=True, text=True,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_cpu_recipe_learns_cifar10_features_far_beyond_random_init(tmp_path):
    run = str(tmp_path / "run")
    t = time.perf_counter()
    trained = cli("train", "--recipe", "cpu", "--data", DATA, "--out", run, "--quiet")
    train_s = time.perf_counter() - t
    knn = cli("evaluate", "--run", run, "--protocol", "knn", "--quiet")
    base = cli("evaluate", "--run", run, "--protocol", "knn", "--random-init", "--quiet")
    print(f"cpu recipe: train {train_s:.0f} s wall, {trained['epochs']} epochs; "
          f"kNN {knn['accuracy']:.4f} vs random init {base['accuracy']:.4f} ({knn['split']}, n_eval {knn['n_eval']})")
    assert trained["complete"]
    assert knn["split"] == "val-from-train" and knn["n_train"] == 45_000 and knn["n_eval"] == 5_000
    assert knn["accuracy"] >= 0.55
    assert knn["accuracy"] - base["accuracy"] >= 0.15
