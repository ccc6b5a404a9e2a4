"""The augmentation sliders drive the pipeline: moving one changes the drawn views."""
import numpy as np
import pytest

pytest.importorskip("ipywidgets")

from barlow_lib import synthetic  # noqa: E402
from barlow_lib.book.viewer import AugmentViewer  # noqa: E402


@pytest.fixture(scope="module")
def viewer():
    (x, _), _ = synthetic.make(8, 10, seed=0)
    return AugmentViewer(x, seed=0)


def test_every_augmentation_parameter_has_a_slider(viewer):
    assert {"flip_prob", "jitter_prob", "brightness", "blur_prob", "grayscale_prob", "solarize_prob",
            "solarize_threshold", "crop_min", "hue"} <= set(viewer.sliders)


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
