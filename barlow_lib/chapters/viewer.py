"""Sliders for every augmentation probability and strength, redrawing both views live.

The noise of the draw is fixed, so moving a slider shows what *that* parameter
does to the same random choices. Needs a running kernel (Jupyter, Colab); the
built book uses the precomputed sliders of ``sliders.py`` instead.

The views are drawn into an ``ipywidgets.Image`` (a PNG of originals, view A and
view B), not through an Output widget: executing a notebook that displays into an
Output widget can hang nbclient (jupyter/nbclient issue 312), which builds the book.
"""
from __future__ import annotations

import dataclasses
import io

import numpy as np

from .. import augment
from . import plotting

# field -> (min, max, step)
RANGES = {
    "crop_min": (0.1, 1.0, 0.05), "crop_max": (0.1, 1.0, 0.05), "flip_prob": (0, 1, 0.05),
    "jitter_prob": (0, 1, 0.05), "brightness": (0, 1, 0.05), "contrast": (0, 1, 0.05),
    "saturation": (0, 1, 0.05), "hue": (0, 0.5, 0.01), "blur_prob": (0, 1, 0.05),
    "blur_sigma_min": (0.1, 3, 0.1), "blur_sigma_max": (0.1, 3, 0.1), "grayscale_prob": (0, 1, 0.05),
    "solarize_prob": (0, 1, 0.05), "solarize_threshold": (0, 1, 0.05),
}


class AugmentViewer:
    """``AugmentViewer(images).widget`` in a notebook; ``.views`` holds the last drawn arrays."""

    def __init__(self, images: np.ndarray, config: augment.AugmentConfig | None = None, seed: int = 0):
        import ipywidgets as W

        self.images = images
        # views at the images' own size, even for recipes that train on smaller views: this is for looking
        self.config = (config or augment.AugmentConfig(image_size=images.shape[1])).replace(output_size=None)
        self.noise = augment.draw_noise(np.random.default_rng(seed), len(images))
        self.sliders = {
            name: W.FloatSlider(value=getattr(self.config, name), min=lo, max=hi, step=step, description=name,
                                continuous_update=False, style={"description_width": "130px"},
                                layout=W.Layout(width="360px"))
            for name, (lo, hi, step) in RANGES.items()
        }
        self.resample = W.Button(description="new random draw")
        self.resample.on_click(lambda _: self.redraw(new_noise=True))
        self.image = W.Image(format="png", layout=W.Layout(width=f"{3 * images.shape[2] * len(images)}px"))
        for s in self.sliders.values():
            s.observe(lambda _: self.redraw(), names="value")
        columns = list(self.sliders.values())
        half = (len(columns) + 1) // 2
        self.widget = W.VBox([W.HBox([W.VBox(columns[:half]), W.VBox(columns[half:])]), self.resample, self.image])
        self.redraw()

    def current_config(self) -> augment.AugmentConfig:
        values = {name: float(s.value) for name, s in self.sliders.items()}
        values["crop_max"] = max(values["crop_max"], values["crop_min"])
        values["blur_sigma_max"] = max(values["blur_sigma_max"], values["blur_sigma_min"])
        return dataclasses.replace(self.config, **values)

    def redraw(self, new_noise: bool = False):
        if new_noise:
            self.noise = augment.draw_noise(np.random.default_rng(), len(self.images))
        config = self.current_config()
        self.views = plotting.make_views(self.images, config, noise=self.noise)
        self.image.value = _png_grid([self.images, *self.views])
        return self.views


def _png_grid(rows) -> bytes:
    """Rows of images (uint8 or [0, 1] floats) side by side, stacked, as PNG bytes."""
    from PIL import Image

    as_bytes = [np.asarray(r) if np.asarray(r).dtype == np.uint8 else
                np.clip(np.asarray(r) * 255 + 0.5, 0, 255).astype(np.uint8) for r in rows]
    grid = np.concatenate([np.concatenate(list(r), axis=1) for r in as_bytes], axis=0)
    buf = io.BytesIO()
    Image.fromarray(grid).save(buf, format="PNG")
    return buf.getvalue()
