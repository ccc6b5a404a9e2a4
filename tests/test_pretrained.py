"""The shipped `cpu` backbone: checked before it is loaded, the current `cpu` recipe's network, and trained."""
import shutil

import numpy as np
import pytest

from barlow_lib import evaluate, models, pretrained, recipes, sample
from barlow_lib.errors import BarlowError
from barlow_lib.seeds import seeded


def test_the_shipped_file_is_the_one_its_checksum_names():
    for name in pretrained.names():
        assert pretrained.sha256(pretrained.path(name)) == pretrained.SHIPPED[name]["sha256"]
        assert pretrained.path(name).stat().st_size < 3 * 2**20  # files in the repository stay under 3 MiB


def test_a_damaged_file_is_refused_not_loaded(tmp_path, monkeypatch):
    shutil.copytree(pretrained.FOLDER, tmp_path / "data")
    file = tmp_path / "data" / pretrained.SHIPPED["cpu"]["file"]
    blob = bytearray(file.read_bytes())
    blob[len(blob) // 2] ^= 0x01  # one bit
    file.write_bytes(bytes(blob))
    monkeypatch.setattr(pretrained, "FOLDER", tmp_path / "data")
    with pytest.raises(BarlowError, match="SHA-256 differs"):
        pretrained.load("cpu")
    file.unlink()
    with pytest.raises(BarlowError, match="missing"):
        pretrained.load("cpu")


def test_an_unknown_name_names_the_ones_there_are():
    with pytest.raises(BarlowError, match="cpu"):
        pretrained.load("resnet50")


def test_the_shipped_backbone_is_the_cpu_recipe_s_network():
    shipped = pretrained.load("cpu")
    fresh = models.build_backbone(recipes.get("cpu").model, 32)
    assert [w.shape for w in shipped.get_weights()] == [w.shape for w in fresh.get_weights()]


def test_the_shipped_backbone_beats_the_same_network_at_random_init_on_the_shipped_sample():
    (x, y), (xe, ye) = sample.load()
    spec = recipes.get("cpu").model  # probed as the recipe (and chapter 6) probes it
    with seeded(0):
        untrained = models.build_backbone(spec, 32)
    knn = {name: evaluate.backbone_knn(models.probed(net, spec), x, y, xe, ye) for name, net in
           (("trained", pretrained.load("cpu")), ("random init", untrained))}
    # 1,000 evaluation images: a standard error of about 1.6 points; 5 points is three of them.
    assert knn["trained"] > knn["random init"] + 0.05, knn
    assert np.isfinite(list(knn.values())).all()


@pytest.mark.integration  # two classifiers trained: seconds, outside the 5-minute unit suite
def test_fine_tuning_starts_from_the_given_backbones_weights_at_the_views_size(monkeypatch):
    from barlow_lib import recipes, supervised
    from barlow_lib.data import Dataset

    seen = []

    class Spy(supervised.Classifier):
        def __init__(self, backbone, *args, **kwargs):
            seen.append([w.copy() for w in backbone.get_weights()] + [backbone.input_shape])
            super().__init__(backbone, *args, **kwargs)

    monkeypatch.setattr(supervised, "Classifier", Spy)
    rng = np.random.default_rng(0)
    ds = Dataset("noise", x_train=rng.integers(0, 256, (40, 32, 32, 3), np.uint8), y_train=np.arange(40) % 10,
                 x_eval=rng.integers(0, 256, (20, 32, 32, 3), np.uint8), y_eval=np.arange(20) % 10,
                 eval_split="val-from-train")
    trained = pretrained.load("cpu")
    supervised.train_baseline(recipes.get("cpu"), ds, np.arange(40), steps=1, start_from=trained)
    supervised.train_baseline(recipes.get("cpu"), ds, np.arange(40), steps=1)
    *weights, shape = seen[0]
    assert shape[1] == recipes.get("cpu").augment.view_size  # the views' size, 16 px
    for a, b in zip(weights, trained.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(seen[1][0], trained.get_weights()[0])  # from scratch: other weights


def test_shipping_a_run_writes_its_backbone_s_weights_and_refuses_another_recipe_s_run(tmp_path, monkeypatch):
    import sys
    from pathlib import Path

    from barlow_lib import data, train

    sys.path.insert(0, str(Path(__file__).parents[1] / "bench"))
    import ship_backbone

    ds = data.load("synthetic", limit=64)
    cpu = train.train(recipes.get("cpu").replace(epochs=1, batch_size=32), ds, tmp_path / "cpu", progress=False)
    smoke = train.train(recipes.get("smoke").replace(epochs=1, batch_size=32), ds, tmp_path / "smoke",
                        progress=False)
    monkeypatch.setattr(pretrained, "FOLDER", tmp_path / "shipped")
    with pytest.raises(BarlowError, match="not trained with the 'cpu' recipe's network"):
        ship_backbone.ship(str(smoke.path), "cpu")
    assert not (tmp_path / "shipped").exists()  # nothing half-written
    sha = ship_backbone.ship(str(cpu.path), "cpu")
    file = tmp_path / "shipped" / pretrained.SHIPPED["cpu"]["file"]
    assert sha == pretrained.sha256(file) and [p.name for p in file.parent.iterdir()] == [file.name]
    loaded = models.build_backbone(recipes.get("cpu").model, 32)
    loaded.load_weights(file)
    for a, b in zip(loaded.get_weights(), cpu.load_backbone().get_weights()):
        np.testing.assert_array_equal(a, b)
