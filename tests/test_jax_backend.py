"""The core suite (loss, augmentations, a train step, kNN) again, with KERAS_BACKEND=jax."""
import os
import subprocess
import sys
from pathlib import Path

import keras
import pytest


@pytest.mark.skipif(keras.backend.backend() == "jax", reason="already running on JAX")
def test_core_suite_passes_on_jax():
    pytest.importorskip("jax")
    env = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-m", "core", "-p", "no:cacheprovider"],
                          cwd=Path(__file__).parents[1], env=env, capture_output=True, text=True, timeout=900)
    print(proc.stdout[-3000:])
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and "failed" not in proc.stdout
