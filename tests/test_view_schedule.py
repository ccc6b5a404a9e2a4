"""Progressive resizing (``Recipe.view_schedule``): small views early, larger ones late, resumable exactly."""
import numpy as np
import pytest

from barlow_lib import data, recipes, train
from barlow_lib.errors import BarlowError


@pytest.mark.core
def test_each_epoch_gets_the_view_side_its_schedule_names():
    r = recipes.get("smoke").replace(epochs=8, augment={"output_size": 16}, view_schedule=((0.5, 24), (0.75, 32)))
    assert [r.view_size_at(e) for e in range(1, 9)] == [16, 16, 16, 16, 24, 24, 32, 32]
    assert recipes.get("smoke").replace(epochs=8).view_size_at(8) == 32  # no schedule: the recipe's views
    big = r.for_image_size(64)  # sides keep their ratio to the image side, as output_size does
    assert big.augment.output_size == 32 and big.view_schedule == ((0.5, 48), (0.75, 64))


@pytest.mark.core
@pytest.mark.parametrize("schedule", [((0.5, 4),), ((1.2, 24),), ((0.75, 24), (0.5, 32)), ((0.5,),), ((0.5, 24.0),),
                                      24, (0.5, 24)])
def test_a_schedule_that_cannot_train_is_refused_naming_the_setting(schedule):
    with pytest.raises(BarlowError, match="view_schedule"):
        recipes.get("smoke").replace(view_schedule=schedule).check()


@pytest.mark.core
def test_the_imagenet_stem_refuses_a_schedule():
    with pytest.raises(BarlowError, match="ImageNet stem"):
        recipes.get("keras-io").replace(view_schedule=((0.5, 24),)).check()


@pytest.mark.core
def test_a_recipe_with_a_schedule_survives_its_run_folder():
    r = recipes.get("smoke").replace(view_schedule=((0.5, 24),))
    assert recipes.Recipe.from_dict(r.to_dict()) == r


@pytest.mark.integration  # a minute: trains and resumes three short runs
def test_views_grow_at_the_scheduled_epoch_and_a_resumed_run_repeats_them(tmp_path):
    """(Not in the JAX core suite, for time: it passed there once, 170 s, when the schedule was added.)"""
    ds = data.load("synthetic", limit=200)
    plain = recipes.get("smoke").replace(epochs=4, batch_size=50, knn_every=0, augment={"output_size": 16})
    grown = plain.replace(view_schedule=((0.5, 32),))
    a = train.train(plain, ds, tmp_path / "plain", progress=False).history()["loss"]
    b = train.train(grown, ds, tmp_path / "grown", progress=False).history()["loss"]
    # Same seed, same batches: identical until epoch 3, where the schedule's 32 px views begin.
    np.testing.assert_array_equal(a[:2], b[:2])
    assert all(abs(x - y) > 1e-3 * abs(x) for x, y in zip(a[2:], b[2:]))
    train.train(grown, ds, tmp_path / "resumed", progress=False, max_epochs=2)  # stops just before the switch
    resumed = train.train(grown, ds, tmp_path / "resumed", progress=False)
    np.testing.assert_allclose(resumed.history()["loss"], b, rtol=1e-6)
    assert resumed.evaluate("knn", ds)["accuracy"] > 0  # the saved backbone takes full-size images
