"""Multi-crop: small extra views per image, each paired in the loss with both views; a run of it resumes exactly."""
import numpy as np
import pytest

from barlow_lib import data, models, recipes, train
from barlow_lib.backends import ops
from barlow_lib.errors import BarlowError
from barlow_lib.loss import barlow_twins_loss


def small_twin(crops: int):
    recipe = recipes.get("smoke").replace(batch_size=16, small_crops=crops)
    return recipe, models.build_twin(recipe)


@pytest.mark.core
def test_each_small_view_is_embedded_and_paired_with_both_views():
    recipe, twin = small_twin(2)
    batch = train.epoch_inputs(np.random.default_rng(0).integers(0, 256, (16, 32, 32, 3), np.uint8), 16, 0, 0,
                               recipe.views)
    assert batch["noise"].shape[1] == 4
    z = twin(batch)
    assert tuple(z.shape) == (16, 4, recipe.model.projector[-1])
    small = [twin.small_view(batch["images"], batch["noise"][:, k]) for k in (2, 3)]
    assert [tuple(v.shape) for v in small] == [(16, 8, 8, 3)] * 2
    bt = [float(barlow_twins_loss(z[:, i], z[:, j], recipe.lambd)) for i, j in ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3))]
    assert float(twin.compute_loss(y_pred=z)) == pytest.approx(np.mean(bt), rel=1e-5)
    assert len(set(np.round(bt, 3))) > 1  # the pairs are different pairs


@pytest.mark.core
def test_without_small_crops_the_loss_is_the_two_views_own():
    recipe, twin = small_twin(0)
    z = ops.convert_to_tensor(np.random.default_rng(1).normal(size=(16, 2, 8)).astype("float32"))
    assert float(twin.compute_loss(y_pred=z)) == pytest.approx(float(barlow_twins_loss(z[:, 0], z[:, 1],
                                                                                         recipe.lambd)), rel=1e-6)


@pytest.mark.parametrize("changes", [{"small_crops": -1}, {"small_crops": True},
                                     {"small_crops": 2, "small_crop_size": 4},
                                     {"small_crops": 2, "small_crop_sides": (0.6, 0.3)},
                                     {"small_crops": 2, "small_crop_sides": (0, 0.5)},
                                     {"small_crops": 2, "small_crop_sides": 0.5}])
def test_multi_crop_settings_that_cannot_train_are_refused(changes):
    with pytest.raises(BarlowError, match="small_crop"):
        recipes.get("cpu").replace(**changes).check()


def test_the_imagenet_stem_refuses_small_views():
    with pytest.raises(BarlowError, match="CIFAR stem"):
        recipes.get("keras-io").replace(small_crops=2).check()


@pytest.mark.integration  # trains, kills and resumes: most of a minute, outside the unit suite
def test_a_multi_crop_run_learns_and_resumes_exactly(tmp_path):
    ds = data.load("synthetic", limit=192)
    recipe = recipes.get("smoke").replace(epochs=3, batch_size=32, small_crops=2)
    whole = train.train(recipe, ds, tmp_path / "whole", progress=False)
    loss = whole.history()["loss"]
    assert all(np.isfinite(loss)) and loss[-1] < loss[0]
    train.train(recipe, ds, tmp_path / "parts", progress=False, max_epochs=1)
    parts = train.train(recipe, ds, tmp_path / "parts", progress=False).history()["loss"]
    np.testing.assert_allclose(parts, loss, rtol=1e-5)
    assert whole.evaluate("knn", ds)["accuracy"] > 0  # the saved backbone takes the full-size images
