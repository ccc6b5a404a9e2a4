"""Two logical CPU devices give the loss and gradients of one device on the same global batch, and the epoch loop
trains them as train_on_batch does step by step.

A process per backend, a minute each on 2 cores: `pytest -m integration`, a CI step of its own.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).with_name("distributed_step.py")


@pytest.mark.integration
@pytest.mark.parametrize("backend,small_crops", [("tensorflow", 0), ("jax", 0), ("tensorflow", 2)],
                         ids=["tensorflow", "jax", "tensorflow, multi-crop"])
def test_two_devices_equal_one_device(backend, small_crops):
    pytest.importorskip(backend)
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3", "SMALL_CROPS": str(small_crops),
           "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    proc = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, env=env, timeout=600,
                          cwd=Path(__file__).parents[1])
    assert proc.returncode == 0, proc.stderr[-4000:]
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    print(r)
    assert len(r["devices"]) == 2
    assert r["grad_norm"] > 0
    assert abs(r["loss_1"] - r["loss_2"]) <= 1e-4 * abs(r["loss_1"])
    # Measured: 4e-3 on TF, spread evenly over the backbone's variables (likely its synchronized BatchNorm's
    # float32 sums of x and x^2 across replicas: on one device the same layer agrees to 7e-6; not proven),
    # and 2e-6 on JAX, whose step is compiled. The classic bug (a gradient 1/world_size too small, or per-device
    # statistics) is off by 0.5 or more.
    assert r["rel_grad_err"] < {"tensorflow": 1e-2, "jax": 1e-3}[backend]
    assert r["max_moving_stat_err"] < 1e-4  # BatchNorm saw the global batch too
    # the epoch loop `train` runs (steps queued, losses read in groups) trains two devices as train_on_batch does
    assert len(r["epoch_losses"]) == 3 and r["epoch_rel_err"] < 1e-6
