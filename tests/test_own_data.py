"""A user's own image folder at sizes other than CIFAR's 32 px: train, evaluate and preview, end to end."""
import numpy as np
import pytest
from PIL import Image

from test_cli import cli, last_json


def image_folder(root, size, n_per_class=48, classes=("circle", "bar")):
    """Two visibly different classes: a bright disk or a bright vertical bar on noise."""
    rng = np.random.default_rng(size)
    yy, xx = np.mgrid[:size, :size] / size
    for c, name in enumerate(classes):
        folder = root / "train" / name
        folder.mkdir(parents=True)
        for i in range(n_per_class):
            img = rng.integers(0, 90, (size, size, 3)).astype(np.uint8)
            cx, cy = rng.uniform(0.3, 0.7, 2)
            mask = ((xx - cx) ** 2 + (yy - cy) ** 2 < 0.05) if c == 0 else (np.abs(xx - cx) < 0.1)
            img[mask] = 230
            Image.fromarray(img).save(folder / f"{i:03d}.png")
    return root


@pytest.mark.parametrize("size", [48, pytest.param(16, marks=pytest.mark.faults)])
def test_own_images_of_another_size_train_evaluate_and_preview(tmp_path, size, monkeypatch):
    monkeypatch.setenv("BARLOW_CACHE", str(tmp_path / "cache"))
    data = image_folder(tmp_path / "images", size)
    run = tmp_path / "run"
    trained = last_json(cli("train", "--recipe", "smoke", "--data", data, "--out", run, "--epochs", "1",
                            "--batch-size", "16", "--quiet"))
    assert trained["complete"]
    from barlow_lib.runs import Run

    assert Run(run).recipe().augment.image_size == size
    assert Run(run).load_backbone().input.shape[1] == size
    res = last_json(cli("evaluate", "--run", run, "--protocol", "knn", "--quiet"))
    assert res["split"] == "val-from-train" and res["n_eval"] == 10 and 0.0 <= res["accuracy"] <= 1.0
    cli("augment-preview", "--data", data, "--out", tmp_path / "views.png", "--n", "3", "--recipe", "cpu")
    assert Image.open(tmp_path / "views.png").size[0] > 100


def test_cpu_recipe_views_keep_their_ratio_to_the_image():
    from barlow_lib import recipes

    cpu = recipes.get("cpu")
    assert cpu.augment.image_size == 32 and cpu.augment.output_size == 16
    big = cpu.for_image_size(48)
    assert big.augment.image_size == 48 and big.augment.output_size == 24
    assert big.augment.crop_min == cpu.augment.crop_min and cpu.for_image_size(32) is cpu
