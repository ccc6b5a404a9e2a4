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
    return recipe, ds, train.train(recipe, ds, tmp_path_factory.mktemp("whole") / "run", progress=False)


def test_resumed_run_equals_uninterrupted_run_and_same_seed_repeats(tmp_path, uninterrupted):
    recipe, ds, whole = uninterrupted
    whole = whole.history()
    train.train(recipe, ds, tmp_path / "parts", progress=False, max_epochs=1)
    assert Run(tmp_path / "parts").history()["epoch"] == [1]
    parts = train.train(recipe, ds, tmp_path / "parts", progress=False).history()
    assert parts["epoch"] == [1, 2, 3] and parts["complete"]
    np.testing.assert_allclose(parts["loss"], whole["loss"], rtol=1e-5)
    again = train.train(recipe, ds, tmp_path / "again", progress=False).history()
    np.testing.assert_allclose(again["loss"], whole["loss"], rtol=1e-6)


def test_a_moving_average_run_trains_alike_exports_the_average_and_resumes_it_exactly(tmp_path, uninterrupted):
    recipe, ds, whole = uninterrupted
    averaged = recipe.replace(ema_momentum=0.9)
    one = train.train(averaged, ds, tmp_path / "one", progress=False)
    np.testing.assert_allclose(one.history()["loss"], whole.history()["loss"], rtol=1e-6)  # training untouched
    raw, avg = whole.load_backbone(), one.load_backbone()
    moved = [not np.allclose(a, b) for a, b in zip(raw.get_weights(), avg.get_weights())]
    assert sum(moved) >= len(raw.trainable_weights) // 2, "the exported weights are the last ones, not the average"
    train.train(averaged, ds, tmp_path / "parts", progress=False, max_epochs=1)
    parts = train.train(averaged, ds, tmp_path / "parts", progress=False).load_backbone()
    for a, b in zip(parts.get_weights(), avg.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


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


def test_a_stop_between_time_based_checkpoints_redoes_the_epochs_after_the_last_one(tmp_path, uninterrupted,
                                                                                    monkeypatch):
    """On accelerators checkpoints are written by elapsed time (``checkpoint_seconds``), not every epoch. With
    a fake clock on which epoch 1 takes 70 s and later ones 10 s, a 60 s interval checkpoints epoch 1 but not
    epoch 2; Ctrl-C during epoch 3 leaves the epoch-1 checkpoint, older than the last epoch finished. The same
    call must redo epochs 2 and 3 from it and end exactly where the uninterrupted run does."""
    from barlow_lib import checkpoint

    recipe, ds, whole = uninterrupted
    now, trained, real_epoch = [0.0], [], train.train_epoch

    def timed_epoch(twin, inputs, batch_size, epoch, epochs, progress, stop_in=None):
        if epoch == stop_in:
            raise KeyboardInterrupt
        trained.append(epoch)
        loss = real_epoch(twin, inputs, batch_size, epoch, epochs, progress)
        now[0] += 70.0 if epoch == 1 else 10.0
        return loss

    monkeypatch.setattr(train, "clock", lambda: now[0])
    monkeypatch.setattr(train, "train_epoch", lambda *a: timed_epoch(*a, stop_in=3))
    out = tmp_path / "sparse"
    with pytest.raises(KeyboardInterrupt):
        train.train(recipe, ds, out, progress=False, checkpoint_seconds=60)
    run = Run(out)
    assert trained == [1, 2] and checkpoint.read_meta(run.checkpoint_path)["epoch"] == 1  # epoch 2: no checkpoint
    assert run.history()["epoch"] == [1] and not run.is_complete()
    assert sorted(run.diagnostics()) == [0, 1, 2]  # measured at every snapshot epoch, checkpoint or not

    trained.clear()
    monkeypatch.setattr(train, "train_epoch", timed_epoch)
    done = train.train(recipe, ds, out, progress=False, checkpoint_seconds=60)
    assert trained == [2, 3], "the epochs after the last checkpoint are trained again, the ones before it not"
    assert checkpoint.read_meta(done.checkpoint_path)["epoch"] == 3  # the last epoch is saved whatever the clock
    h = done.history()
    assert h["epoch"] == [1, 2, 3] and h["complete"]
    assert h["loss"] == whole.history()["loss"], "bit for bit the losses of the run that was never stopped"
    for epoch, snapshot in whole.diagnostics().items():  # epoch 2's measured again, by the redone epoch
        for key, value in snapshot.items():
            np.testing.assert_array_equal(done.diagnostics()[epoch][key], value, err_msg=f"{epoch} {key}")


def test_a_run_is_evaluated_on_the_features_its_recipe_probes(tmp_path):
    ds = data.load("synthetic", limit=256)
    recipe = recipes.get("smoke").replace(epochs=1, batch_size=32, model={"probe_grid": 2})
    run = train.train(recipe, ds, tmp_path / "run", progress=False)
    width = run.load_backbone().output.shape[-1]
    assert run.load_probed().output.shape[-1] == run.load_probed(random_init=True).output.shape[-1] == 4 * width
    assert 0 <= run.evaluate("knn", ds)["accuracy"] <= 1
    projected = run.evaluate("linear", ds, output="projector")  # the projector still reads the global pool
    assert projected["output"] == "projector"


def test_a_probe_grid_that_does_not_divide_the_last_stage_of_own_images_still_trains_and_evaluates(tmp_path):
    # 40 px images leave the CIFAR stem's last stage 5x5: a 4x4 (or 2x2) probe once stopped the kNN monitor
    # with a ValueError; it now averages overlapping windows and keeps its 16 cells.
    ds = data.load("synthetic", limit=128, image_size=40)
    recipe = recipes.get("smoke").replace(epochs=1, batch_size=32, knn_every=1, model={"probe_grid": 4})
    run = train.train(recipe, ds, tmp_path / "run", progress=False)
    assert run.history()["knn_accuracy"][0] is not None  # the monitor ran on the probed features
    width = run.load_backbone().output.shape[-1]
    assert run.load_probed().output.shape[-1] == 16 * width
    assert 0 <= run.evaluate("linear", ds)["accuracy"] <= 1
