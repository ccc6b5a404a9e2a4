"""Every data source, offline: synthetic, folders, .npz, and CIFAR-10 through a fake Keras cache."""
import pickle

import numpy as np
import pytest
from PIL import Image

from barlow_lib import data, synthetic
from barlow_lib.errors import BarlowError


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("BARLOW_CACHE", str(tmp_path / "cache"))


def write_images(folder, n, size=(8, 8), mode="RGB", start=0):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(start)
    for i in range(n):
        arr = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
        Image.fromarray(arr).convert(mode).save(folder / f"{start + i:04d}.png")


def test_synthetic_is_balanced_deterministic_and_not_solvable_by_colour():
    (x, y), (xt, yt) = synthetic.make(200, 50, seed=3)
    (x2, _), _ = synthetic.make(200, 50, seed=3)
    assert x.shape == (200, 32, 32, 3) and x.dtype == np.uint8
    assert np.array_equal(x, x2)
    assert np.bincount(y).tolist() == [20] * 10
    mean_colour = np.array([x[y == c].mean((0, 1, 2)) for c in range(10)])
    assert mean_colour.std(0).max() < 25  # classes share colour statistics


def test_labeled_folder_without_test_split_carves_validation(tmp_path):
    for c in ("cat", "dog"):
        write_images(tmp_path / "train" / c, 10)
    ds = data.load(str(tmp_path))
    assert ds.eval_split == "val-from-train" and ds.classes == ("cat", "dog")
    assert len(ds.x_train) == 18 and len(ds.x_eval) == 2 and sorted(ds.y_eval) == [0, 1]


def test_labeled_folder_with_test_split_and_cache(tmp_path):
    for c in ("a", "b"):
        write_images(tmp_path / "train" / c, 4)
        write_images(tmp_path / "test" / c, 2, start=10)
    ds = data.load(str(tmp_path))
    assert ds.eval_split == "test" and ds.x_train.shape == (8, 8, 8, 3) and len(ds.x_eval) == 4
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 2
    again = data.load(str(tmp_path))
    assert np.array_equal(again.x_train, ds.x_train)


def test_unlabeled_folder_trains_but_cannot_be_evaluated(tmp_path):
    write_images(tmp_path, 5)
    ds = data.load(str(tmp_path))
    assert ds.y_train is None and len(ds.x_train) == 5
    with pytest.raises(BarlowError, match="no labels"):
        ds.require_labels()


def test_grayscale_and_rgba_are_converted_to_rgb(tmp_path):
    write_images(tmp_path / "x", 2, mode="L")
    write_images(tmp_path / "y", 2, mode="RGBA", start=5)
    ds = data.load(str(tmp_path))
    assert ds.x_train.shape[-1] == 3 and ds.x_train.dtype == np.uint8


def test_mixed_sizes_are_refused_naming_the_file(tmp_path):
    write_images(tmp_path / "a", 2, size=(8, 8))
    write_images(tmp_path / "b", 1, size=(9, 8), start=7)
    with pytest.raises(BarlowError, match=r"differ in size.*0007\.png is 9x8.*`image_size`"):
        data.load(str(tmp_path))
    ds = data.load(str(tmp_path), image_size=12)  # the fix the message gives
    assert ds.x_train.shape[1:] == (12, 12, 3) and len(ds.x_train) + len(ds.x_eval) == 3 and ds.resized_to == 12


def test_corrupt_image_is_refused_naming_the_file(tmp_path):
    write_images(tmp_path / "a", 2)
    good = (tmp_path / "a" / "0000.png").read_bytes()
    (tmp_path / "a" / "broken.png").write_bytes(good[: len(good) // 2])
    with pytest.raises(BarlowError, match=r"broken\.png.*corrupt or truncated.*Fix: delete or replace"):
        data.load(str(tmp_path))


def test_empty_folder_and_missing_path(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(BarlowError, match="holds no images"):
        data.load(str(tmp_path / "empty"))
    with pytest.raises(BarlowError, match="no such file or folder"):
        data.load(str(tmp_path / "nope"))


def test_npz_source_float_and_nan(tmp_path):
    x = np.random.default_rng(0).uniform(0, 1, (20, 8, 8, 3)).astype(np.float32)
    y = np.arange(20) % 2
    np.savez(tmp_path / "d.npz", x_train=x, y_train=y)
    ds = data.load(str(tmp_path / "d.npz"))
    assert ds.x_train.dtype == np.uint8 and ds.eval_split == "val-from-train" and len(ds.x_eval) == 2
    x[0, 0, 0, 0] = np.nan
    np.savez(tmp_path / "bad.npz", x_train=x, y_train=y)
    with pytest.raises(BarlowError, match="NaN"):
        data.load(str(tmp_path / "bad.npz"))


def test_limit_keeps_a_subset(tmp_path):
    ds = data.load("synthetic", limit=100)
    assert len(ds.x_train) == 100 and len(ds.y_train) == 100


def fake_cifar_cache(root):
    """The folder keras.datasets.cifar10 extracts: pickled batches of 10,000 images."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for name, label in [(f"data_batch_{i}", i) for i in range(1, 6)] + [("test_batch", 7)]:
        pixels = np.full((10000, 3072), label * 20, np.uint8)
        with open(folder / name, "wb") as f:
            pickle.dump({b"data": pixels, b"labels": [label] * 10000}, f)
    return root


def test_cifar10_loads_through_keras_from_a_fake_cache(tmp_path, monkeypatch):
    import keras.src.datasets.cifar10 as kcifar

    root = fake_cifar_cache(tmp_path / "keras")
    monkeypatch.setattr(kcifar, "get_file", lambda *a, **k: str(root))
    ds = data.load("cifar10")
    assert ds.x_train.shape == (50000, 32, 32, 3) and ds.eval_split == "test"
    assert ds.y_train[0] == 1 and ds.y_eval[0] == 7 and ds.x_eval[0, 0, 0, 0] == 140
    assert ds.classes[0] == "airplane"


def test_cifar10_download_failure_says_how_to_use_a_local_copy(monkeypatch):
    import keras.src.datasets.cifar10 as kcifar

    def offline(*a, **k):
        raise OSError("network is unreachable")

    monkeypatch.setattr(kcifar, "get_file", offline)
    with pytest.raises(BarlowError, match="local copy"):
        data.load("cifar10")
