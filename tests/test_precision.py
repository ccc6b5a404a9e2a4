"""Which precision ``precision="auto"`` computes in, and what mixed float16 builds (a GPU's capability faked on a
CPU): bfloat16 where it is native, float16 with loss scaling on older GPUs such as Colab's T4, float32 else."""
import numpy as np
import pytest

from barlow_lib import augment, hardware, loss, models, recipes

pytestmark = pytest.mark.core

CASES = [  # (device, compute capability, CPU with AVX512-BF16) -> policy
    (("gpu", (7, 5), False), "mixed_float16"),  # Colab's free T4: no bfloat16 units, fast float16 ones
    (("gpu", (7, 0), True), "mixed_float16"),  # V100: the host CPU's bfloat16 does not matter on a GPU
    (("gpu", (8, 0), False), "mixed_bfloat16"),  # A100
    (("gpu", (9, 0), False), "mixed_bfloat16"),  # H100, H200
    (("gpu", None, False), "mixed_bfloat16"),  # a GPU that does not report its capability: assumed recent
    (("tpu", None, False), "mixed_bfloat16"),
    ((None, None, True), "mixed_bfloat16"),  # a CPU with AVX512-BF16
    ((None, None, False), "float32"),
]


@pytest.mark.parametrize("machine,policy", CASES, ids=[f"{m[0]}-{m[1]}-{m[2]}" for m, _ in CASES])
def test_auto_precision_is_bfloat16_where_native_float16_on_older_gpus_float32_elsewhere(machine, policy):
    assert hardware.auto_precision(*machine) == policy


def test_an_explicit_precision_is_kept_whatever_the_machine(monkeypatch):
    monkeypatch.setattr(hardware, "accelerator", lambda: "gpu")
    monkeypatch.setattr(hardware, "gpu_compute_capability", lambda: (7, 5))
    assert hardware.resolve_precision("auto") == "mixed_float16"
    assert [hardware.resolve_precision(p) for p in ("float32", "mixed_bfloat16")] == ["float32", "mixed_bfloat16"]


@pytest.mark.parametrize("capability,policy,scaled", [((7, 5), "mixed_float16", True),
                                                      ((8, 6), "mixed_bfloat16", False)])
def test_a_twin_on_a_faked_gpu_computes_in_its_precision_and_scales_the_loss_only_in_float16(
        monkeypatch, capability, policy, scaled):
    from barlow_lib.backends import keras

    monkeypatch.setattr(hardware, "accelerator", lambda: "gpu")
    monkeypatch.setattr(hardware, "gpu_compute_capability", lambda: capability)
    monkeypatch.setattr(hardware, "resolve_jit", lambda setting: False)  # no XLA for a GPU that is not there
    r = recipes.get("smoke").replace(model={"precision": "auto"}, batch_size=8)
    twin = models.build_twin(r, steps_per_epoch=2)
    conv = twin.backbone.get_layer("stem_conv")
    assert conv.dtype_policy.name == policy and conv.kernel.dtype == "float32"  # float32 weights, cast to compute
    assert isinstance(twin.optimizer, keras.optimizers.LossScaleOptimizer) is scaled
    rng = np.random.default_rng(0)
    z = twin({"images": rng.integers(0, 255, (8, 32, 32, 3), dtype=np.uint8), "noise": augment.draw_noise(rng, 8)})
    assert policy.removeprefix("mixed_") in str(z.dtype)
    value = loss.barlow_twins_loss(z[:, 0], z[:, 1])  # the cross-correlation and the loss in float32
    assert "float32" in str(value.dtype) and np.isfinite(float(value))


def test_the_training_chapter_says_what_auto_chose_and_why():
    from barlow_lib.chapters import start

    assert start.precision_line("auto", "mixed_float16").startswith("mixed_float16 (the recipe's 'auto': this GPU has")
    assert start.precision_line("float32", "float32") == "float32 (the recipe's setting)"
    assert set(start.WHY_AUTO) == {hardware.auto_precision(*m) for m, _ in CASES}  # a reason for every choice
