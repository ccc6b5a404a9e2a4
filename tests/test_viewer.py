"""The augmentation sliders drive the pipeline: moving one changes the drawn views."""
import dataclasses

import numpy as np
import pytest

pytest.importorskip("ipywidgets")

from barlow_lib import synthetic  # noqa: E402
from barlow_lib.augment import AugmentConfig  # noqa: E402
from barlow_lib.chapters.viewer import AugmentViewer  # noqa: E402


@pytest.fixture(scope="module")
def viewer():
    (x, _), _ = synthetic.make(8, 10, seed=0)
    return AugmentViewer(x, seed=0)


# the fields of AugmentConfig that are not a probability or strength to look at, and why
NO_SLIDER = {
    "image_size": "the images' own size: the viewer shows the images it is given",
    "output_size": "the viewer draws views at the images' own size, whatever a recipe trains on",
    "blur_kernel": "the blur's support in pixels, fixed by the recipe; sigma (which has sliders) sets its strength",
}


def test_every_augmentation_parameter_has_a_slider_that_sets_it(viewer):
    """Every field of AugmentConfig, not a hand-picked list: a new field without a slider fails here."""
    fields = {f.name for f in dataclasses.fields(AugmentConfig)}
    assert set(NO_SLIDER) <= fields, "a field named in NO_SLIDER is no longer in AugmentConfig"
    assert set(viewer.sliders) == fields - set(NO_SLIDER)
    for name, slider in viewer.sliders.items():
        old = slider.value
        assert slider.min <= getattr(AugmentConfig(), name) <= slider.max, name  # the default is reachable
        new = old + slider.step if old + slider.step <= slider.max else old - slider.step  # one step
        slider.value = new
        try:
            assert getattr(viewer.current_config(), name) == pytest.approx(new), name
        finally:
            slider.value = old


@pytest.mark.parametrize("name,value", [("grayscale_prob", 1.0), ("crop_min", 0.3), ("brightness", 0.0),
                                        ("solarize_prob", 1.0), ("flip_prob", 1.0)])
def test_moving_a_slider_redraws_the_views(viewer, name, value):
    before = [v.copy() for v in viewer.views]
    old = viewer.sliders[name].value
    viewer.sliders[name].value = value
    try:
        assert getattr(viewer.current_config(), name) == pytest.approx(value)
        assert not np.allclose(before[0], viewer.views[0]) or not np.allclose(before[1], viewer.views[1])
    finally:
        viewer.sliders[name].value = old
    np.testing.assert_allclose(viewer.views[0], before[0])  # same draw: moving it back restores the views


def test_grayscale_slider_at_one_removes_all_colour(viewer):
    viewer.sliders["grayscale_prob"].value = 1.0
    a, b = viewer.views
    assert np.allclose(a[..., 0], a[..., 2], atol=1e-5) and np.allclose(b[..., 1], b[..., 2], atol=1e-5)
    viewer.sliders["grayscale_prob"].value = 0.2


@pytest.mark.parametrize("name", ["brightness", "contrast", "saturation", "hue"])
def test_static_slider_shows_one_jitter_strength_alone(name):
    """At strength 0 a jitter slider's views are the originals: the other three strengths are off (they once
    stayed on, so all four sliders showed the same full jitter)."""
    import base64
    import io

    from PIL import Image

    from barlow_lib import augment
    from barlow_lib.chapters import sliders

    (images, _), _ = synthetic.make(4, 1, seed=0)
    config = augment.AugmentConfig(image_size=32)
    frames = sliders.frames(images, config, name)
    assert sliders.SETTINGS[name][0][0] == 0.0
    grid = np.asarray(Image.open(io.BytesIO(base64.b64decode(frames[0].split(",", 1)[1]))), np.float32)
    originals, views = grid[:32], grid[32:]
    assert np.abs(originals - views).mean() < 4, "strength 0 should leave the images as they are"
    strong = np.asarray(Image.open(io.BytesIO(base64.b64decode(frames[-1].split(",", 1)[1]))), np.float32)
    assert np.abs(strong[:32] - strong[32:]).mean() > 4, "the strongest setting should change the images"


def test_each_static_slider_starts_at_the_recipe_s_own_value():
    """The cpu recipe solarizes one view in ten; its slider once started at the nearest setting, 0.0."""
    import re

    from barlow_lib import recipes
    from barlow_lib.chapters import sliders

    (images, _), _ = synthetic.make(2, 1, seed=0)
    config = recipes.get("cpu").augment.replace(output_size=None)
    page = sliders.static_viewer(images, config).data
    shown = dict(re.findall(r'data-name="(\w+)".*?<output>([^<]+)</output>', page))
    assert set(shown) == set(sliders.SETTINGS)
    for name, value in shown.items():
        assert float(value) == getattr(config, name), name
    assert sliders.settings("solarize_prob", config) == [0.0, 0.1, 0.2, 0.5, 0.8, 1.0]
    assert sliders.settings("crop_min", config) == sliders.SETTINGS["crop_min"][0]  # 0.5 is one of them
