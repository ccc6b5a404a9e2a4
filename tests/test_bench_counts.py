"""bench/train_step.py counts the FLOPs of the views a recipe trains on, not of the full-size images."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "bench"))
import train_step  # noqa: E402

from barlow_lib import models, recipes  # noqa: E402


@pytest.mark.integration  # builds the networks: seconds, outside the unit suite
def test_a_step_of_the_cpu_recipe_is_counted_at_its_16_px_views():
    r = recipes.get("cpu")
    at_16 = models.forward_flops(models.build_backbone(r.model, 16))
    at_32 = models.forward_flops(models.build_backbone(r.model, 32))
    assert at_32 == pytest.approx(4 * at_16, rel=0.05)  # a quarter of the pixels, a quarter of the work
    projector = models.forward_flops(models.build_projector(128, r.model))
    d = r.model.projector[-1]
    expected = (3 * 2 * (at_16 + projector) + 6 * d * d) / 1e9  # two views, forward and backward, and the loss
    assert train_step.step_gflop(r, 1) == pytest.approx(expected, rel=1e-6)
    assert train_step.step_gflop(r, 1) < 0.08  # the 32 px count was 0.227 per pair


def test_the_profile_splits_a_step_into_pieces_that_add_up_to_it():
    sys.path.insert(0, str(Path(__file__).parents[1] / "bench"))
    import cpu_profile

    m = {"step": 0.2, "epoch_step": 0.25, "views": 0.01, "forward": 0.05, "forward and backward": 0.16,
         "update": 0.02, "batch": 256, "gflop_per_step": 20.0, "roof": 200.0, "threads": "intra-op 1, inter-op 2"}
    row = cpu_profile.row("default", m, 200.0)
    assert row["backward ms"] == 110.0 and row["rest ms"] == 10.0  # 200 - 10 - 160 - 20
    assert row["views ms"] + row["forward ms"] + row["backward ms"] + row["update ms"] + row["rest ms"] == 200.0
    assert row["train path GFLOP/s"] == 80.0 and row["train path % of fp32 roof"] == 40.0


def test_each_timing_of_a_setting_is_the_fastest_any_of_its_processes_read():
    import cpu_profile

    slow_step = {"step": 0.30, "epoch_step": 0.21, "views": 0.005, "forward": 0.07, "forward and backward": 0.21,
                 "update": 0.009, "batch": 256, "gflop_per_step": 17.6, "roof": None, "threads": "t"}
    slow_pieces = slow_step | {"step": 0.22, "epoch_step": 0.22, "forward": 0.08, "update": 0.008}
    m = cpu_profile.fastest([slow_step, slow_pieces])
    assert (m["step"], m["epoch_step"], m["forward"], m["update"]) == (0.22, 0.21, 0.07, 0.008)
    assert cpu_profile.row("default", m, 200.0)["rest ms"] == round(1000 * (0.22 - 0.005 - 0.21 - 0.008), 1)


@pytest.mark.integration  # builds the network: seconds, outside the unit suite
def test_the_layer_profile_counts_every_flop_of_the_network_once():
    import cpu_layers

    r = recipes.get("cpu")
    twin = models.build_twin(r)
    shapes = cpu_layers.layer_shapes(twin.backbone) + cpu_layers.layer_shapes(twin.projector)
    assert shapes[0][0] == "conv" and shapes[0][1] == (16, 16, 3)  # the stem, on a 16 px view
    counted = sum(cpu_layers.flops(*s, batch=1) for s in shapes)
    assert counted == models.forward_flops(twin.backbone) + models.forward_flops(twin.projector)
    assert cpu_layers.describe(*shapes[0]).startswith("conv 3x3/1 on 16x16x3 ->")


@pytest.mark.integration  # times every layer of the smoke network: half a minute
def test_the_layer_profile_runs_and_writes_its_bound_beside_the_training_path(tmp_path):
    import json
    import subprocess

    out = tmp_path / "layers.json"
    subprocess.run([sys.executable, "bench/cpu_layers.py", "--recipe", "smoke", "--steps", "1", "--out", str(out)],
                   check=True, capture_output=True, cwd=Path(__file__).parents[1])
    result = json.loads(out.read_text())
    s = result["summary"]
    assert s["layers alone: % of fp32 roof (the bound)"] > 0 and s["training path: % of fp32 roof"] > 0
    assert sum(r["copies"] for r in result["rows"]) >= 4  # stem, blocks, projector
    assert s["GFLOP per step (the layers above)"] == pytest.approx(sum(r["GFLOP per step"] for r in result["rows"]),
                                                                    abs=0.01)
    assert result["command"].startswith("python bench/cpu_layers.py")


def test_the_timed_layer_pass_computes_the_forward_and_the_gradients_training_takes():
    import cpu_layers
    import numpy as np
    import tensorflow as tf

    conv = ("conv", (8, 8, 4), (3, 3, 6, 1, "same"))
    fn, (a, b, ga, gb), w = cpu_layers.layer_pass(*conv, batch=2, first=False)
    (value_a, grads_a), _ = fn(a, b, ga, gb)
    expected = tf.reduce_sum(tf.nn.conv2d(a, w, 1, "SAME") * ga)
    np.testing.assert_allclose(value_a.numpy(), expected.numpy(), rtol=1e-4)  # the forward ran (not pruned)
    assert len(grads_a) == 2 and grads_a[1].shape == a.shape  # kernel and input gradients
    stem_fn, stem_args, _ = cpu_layers.layer_pass(*conv, batch=2, first=True)
    assert len(stem_fn(*stem_args)[0][1]) == 1  # the stem: the kernel's gradient only
    dense_fn, dense_args, _ = cpu_layers.layer_pass("dense", (16,), (32,), batch=3, first=False)
    assert dense_fn(*dense_args)[1][1][0].shape == (16, 32)


@pytest.mark.integration  # builds a ResNet-18: seconds, outside the unit suite
def test_the_published_resnet18_is_counted_at_its_standard_arithmetic():
    from barlow_lib.chapters import published

    spec = recipes.ModelSpec(**published.RESNET18, precision="float32")
    forward = models.forward_flops(models.build_backbone(spec, 32))
    # CIFAR ResNet-18 at 32 px: 0.56 G multiply-adds per image, the figure its papers and profilers give
    assert forward / 2 == pytest.approx(0.556e9, rel=0.01)
    assert models.pair_flops(models.build_backbone(spec, 32)) == 6 * forward  # two views, forward and backward
