"""Pretraining learns, resumes exactly, is deterministic, and stops cleanly on NaN."""
import numpy as np
import pytest

from barlow_lib import data, evaluate, recipes, train
from barlow_lib.errors import BarlowError
from barlow_lib.runs import Run


def knn(backbone, ds):
    return evaluate.backbone_knn(backbone, ds.x_train, ds.y_train, ds.x_eval, ds.y_eval)


@pytest.mark.integration  # 75 s on 2 slow cores: with the chapters' learning test, not in the 5-minute unit suite
def test_smoke_run_learns_features_that_beat_random_init(tmp_path):
    ds = data.load("synthetic")
    run = train.train(recipes.get("smoke"), ds, tmp_path / "run", progress=False)
    trained, random = knn(run.load_backbone(), ds), knn(run.load_backbone(random_init=True), ds)
    print(f"kNN trained {trained:.3f} vs random init {random:.3f}")
    assert trained > random + 0.10
    h = run.history()
    assert h["complete"] and h["loss"][-1] < h["loss"][0]
    for name in ("config.json", "history.json", "provenance.json", "backbone.keras", "checkpoints/last.npz"):
        assert (run.path / name).exists(), name
    assert any((run.path / "tensorboard").iterdir())


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """A short run trained in one go: what every interrupted run must end up equal to."""
    ds = data.load("synthetic", limit=256)
    recipe = recipes.get("smoke").replace(epochs=3, batch_size=32)
    run = train.train(recipe, ds, tmp_path_factory.mktemp("whole") / "run", progress=False)
    return recipe, ds, run.history()


def test_resumed_run_equals_uninterrupted_run_and_same_seed_repeats(tmp_path, uninterrupted):
    recipe, ds, whole = uninterrupted
    train.train(recipe, ds, tmp_path / "parts", progress=False, max_epochs=1)
    assert Run(tmp_path / "parts").history()["epoch"] == [1]
    parts = train.train(recipe, ds, tmp_path / "parts", progress=False).history()
    assert parts["epoch"] == [1, 2, 3] and parts["complete"]
    np.testing.assert_allclose(parts["loss"], whole["loss"], rtol=1e-5)
    again = train.train(recipe, ds, tmp_path / "again", progress=False).history()
    np.testing.assert_allclose(again["loss"], whole["loss"], rtol=1e-6)


def test_other_settings_in_an_existing_run_dir_are_refused(tmp_path):
    ds = data.load("synthetic", limit=128)
    recipe = recipes.get("smoke").replace(epochs=1, batch_size=32)
    train.train(recipe, ds, tmp_path / "r", progress=False)
    with pytest.raises(BarlowError, match="other settings.*recipe"):
        train.train(recipe.replace(lambd=0.5), ds, tmp_path / "r", progress=False)


def test_non_finite_loss_stops_with_the_step_and_advice(tmp_path):
    ds = data.load("synthetic", limit=128)
    recipe = recipes.get("smoke").replace(epochs=2, batch_size=32, learning_rate=1e30, schedule="constant")
    with pytest.raises(BarlowError, match=r"loss became .* at epoch 1, step \d+.*`learning_rate`"):
        train.train(recipe, ds, tmp_path / "nan", progress=False)
    assert not (tmp_path / "nan" / "checkpoints" / "last.npz").exists()


@pytest.mark.parametrize("batch,match", [(1, "at least 2 images"), (1000, "larger than the 128 training images")])
def test_impossible_batch_sizes_are_refused_before_anything_is_written(tmp_path, batch, match):
    ds = data.load("synthetic", limit=128)
    with pytest.raises(BarlowError, match=match):
        train.train(recipes.get("smoke").replace(batch_size=batch), ds, tmp_path / "r", progress=False)
    assert not (tmp_path / "r").exists()


def test_time_based_checkpoints_resume_exactly_from_the_last_one(tmp_path, uninterrupted):
    """On accelerators checkpoints are written by elapsed time: a stop between them resumes from the last one
    and still ends exactly where an uninterrupted run does."""
    recipe, ds, whole = uninterrupted
    run = train.train(recipe, ds, tmp_path / "sparse", progress=False, max_epochs=2, checkpoint_seconds=1e9)
    from barlow_lib import checkpoint

    assert checkpoint.read_meta(run.checkpoint_path)["epoch"] == 2  # the stop epoch is always saved
    assert sorted(run.diagnostics()) == [0, 1, 2]  # measured every snapshot epoch, checkpoint or not
    done = train.train(recipe, ds, tmp_path / "sparse", progress=False, checkpoint_seconds=1e9).history()
    assert done["epoch"] == [1, 2, 3] and done["complete"]
    np.testing.assert_allclose(done["loss"], whole["loss"], rtol=1e-5)
