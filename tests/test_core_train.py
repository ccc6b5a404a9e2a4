"""Real training steps through the twin's train_on_batch (what train.train_epoch calls), on whichever backend
runs the tests; epoch inputs as pure functions of (seed, epoch)."""
import numpy as np
import pytest

from barlow_lib import augment, models, recipes, train

pytestmark = pytest.mark.core


def test_train_on_batch_steps_lower_the_loss_on_their_batch():
    r = recipes.get("smoke").replace(batch_size=32)
    twin = models.build_twin(r, steps_per_epoch=10)  # compiled as `train` compiles it (XLA on JAX)
    rng = np.random.default_rng(0)
    batch = {"images": rng.integers(0, 255, (32, 32, 32, 3), dtype=np.uint8), "noise": augment.draw_noise(rng, 32)}
    before = [np.array(w) for w in twin.backbone.get_weights()]
    losses = [float(twin.train_on_batch(batch, return_dict=True)["loss"]) for _ in range(5)]
    assert all(np.isfinite(losses)) and losses[-1] < losses[0]
    changed = [not np.allclose(a, np.array(b)) for a, b in zip(before, twin.backbone.get_weights())]
    assert sum(changed) > len(changed) // 2  # the backbone learns, not just the projector


def test_epoch_inputs_depend_only_on_seed_and_epoch():
    images = np.arange(100 * 4 * 4 * 3, dtype=np.uint8).reshape(100, 4, 4, 3)
    a, b = train.epoch_inputs(images, 32, 0, 3), train.epoch_inputs(images, 32, 0, 3)
    c = train.epoch_inputs(images, 32, 0, 4)
    assert len(a["images"]) == 96  # remainder dropped
    assert np.array_equal(a["images"], b["images"]) and np.array_equal(a["noise"], b["noise"])
    assert not np.array_equal(a["images"], c["images"])


def test_mixed_precision_network_keeps_the_loss_in_float32():
    from barlow_lib import loss

    r = recipes.get("smoke").replace(model={"precision": "mixed_bfloat16"})
    twin = models.build_twin(r)
    rng = np.random.default_rng(0)
    z = twin({"images": rng.integers(0, 255, (16, 32, 32, 3), dtype=np.uint8), "noise": augment.draw_noise(rng, 16)})
    assert "bfloat16" in str(z.dtype)
    assert "float32" in str(loss.standardize(z[:, 0]).dtype)
    value = loss.barlow_twins_loss(z[:, 0], z[:, 1])
    assert "float32" in str(value.dtype) and np.isfinite(float(value))


def test_a_backbone_for_small_views_carries_its_weights_to_full_size():
    r = recipes.get("smoke").replace(augment={"output_size": 16})
    twin = models.build_twin(r)
    assert twin.backbone.input.shape[1] == 16
    rng = np.random.default_rng(0)  # weights and BN statistics far from their initial values
    twin.backbone.set_weights([w + rng.normal(0, 0.1, w.shape).astype(w.dtype) ** 2
                               for w in twin.backbone.get_weights()])
    full = models.at_size(twin.backbone, r.model, 32)
    assert full.input.shape[1] == 32 and models.at_size(full, r.model, 32) is full
    back = models.at_size(full, r.model, 16)  # the round trip computes exactly what the trained one does
    x = rng.uniform(0, 1, (4, 16, 16, 3)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(back.predict_on_batch(x)), np.asarray(twin.backbone.predict_on_batch(x)),
                               rtol=1e-5, atol=1e-6)


def test_the_subsampled_shortcut_equals_a_strided_one_by_one_convolution():
    """Shortcuts subsample and then apply a 1x1 conv (TF 2.21's oneDNN crashes in the strided 1x1 conv's backward
    pass for some image sizes); the value must be exactly that of the strided conv."""
    import keras

    bb = models.build_backbone(recipes.ModelSpec(depth=10, width=8, precision="float32"), image_size=20)
    x = np.random.default_rng(0).uniform(0, 1, (2, 20, 20, 8)).astype(np.float32)  # stage 2's input shape
    pooled = keras.Model(bb.get_layer("stage2_block1_subsample").input, bb.get_layer("stage2_block1_proj").output)
    strided = keras.layers.Conv2D(16, 1, strides=2, padding="same", use_bias=False)
    strided.build((None, 20, 20, 8))
    strided.set_weights(bb.get_layer("stage2_block1_proj").get_weights())
    np.testing.assert_allclose(np.asarray(pooled(x)), np.asarray(strided(x)), rtol=1e-6, atol=1e-6)


def test_diagnostics_see_the_loss_s_view_and_leave_the_twin_unchanged():
    from barlow_lib import diagnostics, loss

    r = recipes.get("smoke").replace(batch_size=32)
    twin = models.build_twin(r, steps_per_epoch=10)
    rng = np.random.default_rng(0)
    images, noise = rng.integers(0, 255, (64, 32, 32, 3), dtype=np.uint8), augment.draw_noise(rng, 64)
    before = [v.numpy().copy() for v in twin.variables]
    snap = diagnostics.measure(twin, images, noise, r, r.lambd)
    assert all(np.array_equal(a, v.numpy()) for a, v in zip(before, twin.variables))
    z_a, z_b = diagnostics.training_embeddings(twin, images, noise, r.augment)
    np.testing.assert_allclose(snap["loss"], float(loss.barlow_twins_loss(z_a, z_b, r.lambd)), rtol=1e-4)
    assert 1 <= snap["effective_rank_embedding"] <= min(64, snap["embedding_dim"])
    assert snap["c_corner"].shape == (64, 64) and diagnostics.snapshot_epochs(24) == [0, 1, 2, 4, 8, 16, 24]


def test_effective_rank_counts_the_dimensions_in_use():
    from barlow_lib import diagnostics

    assert diagnostics.effective_rank(np.ones(8)) == pytest.approx(8)
    assert diagnostics.effective_rank(np.array([1.0, 0, 0, 0])) == pytest.approx(1)
    f = np.random.default_rng(0).normal(size=(500, 3)) @ np.random.default_rng(1).normal(size=(3, 32))
    assert diagnostics.effective_rank(diagnostics.singular_values(f)) < 3.01  # 32 features, rank 3


def test_a_2x2_probe_reads_the_last_stage_averaged_over_four_quadrants():
    import keras

    spec = recipes.get("cpu").model.replace(probe_grid=2)
    bb = models.build_backbone(spec, 32)
    assert models.probed(bb, spec.replace(probe_grid=1)) is bb  # the default reads the backbone's own output
    probe = models.probed(bb, spec)
    x = np.random.default_rng(0).uniform(0, 1, (3, 32, 32, 3)).astype(np.float32)
    stage = np.asarray(keras.Model(bb.input, bb.get_layer("features").input).predict_on_batch(x))  # (3, 4, 4, C)
    quadrants = stage.reshape(3, 2, 2, 2, 2, -1).mean(axis=(2, 4))  # (3, 2, 2, C): rows, columns, channels
    got = np.asarray(probe.predict_on_batch(x))
    assert got.shape == (3, 4 * stage.shape[-1]) == (3, 512)
    np.testing.assert_allclose(got, quadrants.reshape(3, -1), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got.reshape(3, 4, -1).mean(1), np.asarray(bb.predict_on_batch(x)), rtol=1e-5,
                               atol=1e-6)  # the four cells average to the global pool the projector reads


def test_probing_the_third_and_last_stages_sets_both_maps_on_the_grid_side_by_side():
    import keras

    spec = recipes.get("cpu").model.replace(probe_grid=4, probe_stages=(3, 4))
    bb = models.build_backbone(spec, 32)
    x = np.random.default_rng(0).uniform(0, 1, (2, 32, 32, 3)).astype(np.float32)
    third = np.asarray(keras.Model(bb.input, bb.get_layer("stage3_block1_out").output).predict_on_batch(x))
    assert third.shape == (2, 8, 8, 64)  # the cpu ResNet-10's third stage at 32 px
    cells = third.reshape(2, 4, 2, 4, 2, 64).mean(axis=(2, 4))  # each 2x2 window of the 8x8 map
    last = np.asarray(models.probed(bb, spec.replace(probe_stages=(4,))).predict_on_batch(x))
    got = np.asarray(models.probed(bb, spec).predict_on_batch(x))
    assert got.shape == (2, 1024 + 2048)
    np.testing.assert_allclose(got[:, :1024], cells.reshape(2, -1), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[:, 1024:], last, rtol=1e-5, atol=1e-6)  # the last stage's probe, unchanged
    alone = np.asarray(models.probed(bb, spec.replace(probe_stages=(3,))).predict_on_batch(x))
    np.testing.assert_allclose(alone, got[:, :1024], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("size, side", [(48, 6), (16, 2)])
def test_a_probe_grid_that_does_not_divide_the_map_averages_overlapping_windows(size, side):
    import keras

    spec = recipes.get("cpu").model.replace(probe_grid=4)
    bb = models.build_backbone(spec, size)
    x = np.random.default_rng(0).uniform(0, 1, (2, size, size, 3)).astype(np.float32)
    stage = np.asarray(keras.Model(bb.input, bb.get_layer("features").input).predict_on_batch(x))
    assert stage.shape[1:3] == (side, side)
    windows = [(i * side // 4, -(-(i + 1) * side // 4)) for i in range(4)]  # side 6: 0-2, 1-3, 3-5, 4-6
    expected = np.stack([np.stack([stage[:, r0:r1, c0:c1].mean(axis=(1, 2)) for c0, c1 in windows], 1)
                         for r0, r1 in windows], 1)  # (2, 4, 4, C)
    got = np.asarray(models.probed(bb, spec).predict_on_batch(x))
    assert got.shape == (2, 16 * stage.shape[-1])
    np.testing.assert_allclose(got, expected.reshape(2, -1), rtol=1e-5, atol=1e-6)


def test_grid_weights_average_each_window_once_and_cover_every_row():
    for side, grid in ((4, 2), (4, 4), (6, 4), (5, 2), (2, 4)):
        w = models.grid_weights(side, grid)
        np.testing.assert_allclose(w.sum(1), 1.0, rtol=1e-6)  # each cell is a mean
        assert (w > 0).any(0).all(), f"a row left out at side {side}, grid {grid}"
    np.testing.assert_array_equal(models.grid_weights(4, 2), [[0.5, 0.5, 0, 0], [0, 0, 0.5, 0.5]])


@pytest.mark.parametrize("images", [96, 16])  # the first step, then reads of 3 and 2; the first step alone
def test_an_epoch_gives_the_losses_and_weights_of_train_on_batch_step_by_step(monkeypatch, images):
    """The epoch loop queues steps without reading each loss, and on JAX writes the weights back only at the
    end of the epoch: what it trains must be exactly what train_on_batch, step by step, trains."""
    import keras

    from barlow_lib import steps

    monkeypatch.setattr(steps, "READ_EVERY", 3)  # 96 images, 6 steps: the first alone, then reads of 3 and 2
    r = recipes.get("smoke").replace(batch_size=16)
    inputs = train.epoch_inputs(np.random.default_rng(1).integers(0, 255, (images, 32, 32, 3), dtype=np.uint8),
                                16, seed=0, epoch=0)
    twins, losses = [], []
    for queued in (False, True):
        keras.utils.set_random_seed(0)
        twin = models.build_twin(r, steps_per_epoch=6)
        if queued:
            reads = []
            losses.append(steps.run_epoch(twin, inputs, 16, lambda first, values: reads.append((first, len(values)))))
        else:
            losses.append([])
            for i in range(images // 16):
                twin.reset_metrics()
                batch = {k: v[i * 16:(i + 1) * 16] for k, v in inputs.items()}
                losses[-1].append(float(twin.train_on_batch(batch, return_dict=True)["loss"]))
        twins.append(twin)
    assert losses[1] == losses[0] and len(losses[0]) == images // 16
    assert reads == {96: [(0, 1), (1, 3), (4, 2)], 16: [(0, 1)]}[images]
    for a, b in zip(twins[0].variables + twins[0].optimizer.variables,
                    twins[1].variables + twins[1].optimizer.variables, strict=True):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b), err_msg=a.path)
