"""Sliders that work in the rendered book, with no kernel: precomputed views swapped by an HTML range input.

For each augmentation parameter, the same images and the same random draw are augmented at a handful of
settings, with every other distortion switched off so that the slider shows that one alone; the page
embeds the pictures as JPEG data and a range input whose ``oninput`` shows the chosen one. No script tag,
no CDN, no network. In Jupyter and Colab the ipywidgets viewer (``viewer.py``) redraws live instead.
"""
from __future__ import annotations

import base64
import html
import io
import json

import numpy as np

from .. import augment

# parameter -> (settings, what it is); probabilities are shown with the distortion forced to full strength
SETTINGS = {
    "crop_min": ([1.0, 0.75, 0.5, 0.35, 0.2], "crop: smallest side, as a fraction of the image side"),
    "flip_prob": ([0.0, 0.25, 0.5, 0.75, 1.0], "horizontal flip probability"),
    "brightness": ([0.0, 0.2, 0.4, 0.6, 0.8], "brightness: added delta drawn from [-b, b]"),
    "contrast": ([0.0, 0.2, 0.4, 0.6, 0.8], "contrast: factor drawn from [1 - c, 1 + c]"),
    "saturation": ([0.0, 0.2, 0.4, 0.6, 0.8], "saturation: factor drawn from [1 - s, 1 + s]"),
    "hue": ([0.0, 0.05, 0.1, 0.2, 0.4], "hue: rotation drawn from [-h, h] turns"),
    "blur_sigma_max": ([0.1, 0.5, 1.0, 1.5, 2.0], "blur: largest sigma in pixels (blur forced on)"),
    "grayscale_prob": ([0.0, 0.2, 0.5, 0.8, 1.0], "grayscale probability"),
    "solarize_prob": ([0.0, 0.2, 0.5, 0.8, 1.0], "solarize probability"),
}
ALONE = dict(crop_min=1.0, flip_prob=0.0, jitter_prob=0.0, blur_prob=0.0, grayscale_prob=0.0, solarize_prob=0.0)
JITTER = ("brightness", "contrast", "saturation", "hue")
# what a slider needs besides ALONE: its distortion switched on (a jitter strength with the other three at zero)
FORCED = {**{n: {"jitter_prob": 1.0, **{k: 0.0 for k in JITTER if k != n}} for n in JITTER},
          "blur_sigma_max": {"blur_prob": 1.0, "blur_sigma_min": 0.1}}


def _picture(originals, views) -> str:
    from PIL import Image

    rows = [np.concatenate(list(r), axis=1) for r in (originals, views)]
    grid = np.concatenate(rows, axis=0)
    img = Image.fromarray(grid)  # stored at its own size, shown at twice it by the page
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=92)  # a photo-like grid: a fifth of the PNG's size (the page stays < 1 MB)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


def settings(name: str, config: augment.AugmentConfig) -> list[float]:
    """A slider's settings: the handful in ``SETTINGS``, with ``config``'s own value added in order where it is not
    one of them (the slider starts there: a recipe's solarize_prob of 0.1 must not show as 0.0)."""
    values, own = list(SETTINGS[name][0]), getattr(config, name)
    if own not in values:
        values = sorted([*values, own], reverse=values[0] > values[-1])
    return values


def frames(images: np.ndarray, config: augment.AugmentConfig, name: str, seed: int = 0) -> list[str]:
    """Data URIs of (originals / views) for each setting of ``name`` alone, on one random draw."""
    noise = augment.draw_noise(np.random.default_rng(seed), len(images))[:, 0]
    out = []
    for value in settings(name, config):
        c = config.replace(**{**ALONE, **FORCED.get(name, {}), name: value})
        views = np.clip(np.asarray(augment.augment(images, noise, c)) * 255 + 0.5, 0, 255).astype(np.uint8)
        out.append(_picture(images, views))
    return out


def static_viewer(images: np.ndarray, config: augment.AugmentConfig, names=tuple(SETTINGS), seed: int = 0):
    """An HTML block of sliders, one per parameter; each picture's rows: the originals, then their views.

    A slider starts at ``config``'s own value; ``config`` also gives the image size."""
    from IPython.display import HTML

    parts = ['<div class="bt-sliders" style="font-family:sans-serif;font-size:14px">']
    for name in names:
        values, label = settings(name, config), SETTINGS[name][1]
        pics = frames(images, config, name, seed)
        start = values.index(getattr(config, name))
        on_input = ("var f=JSON.parse(this.dataset.frames),v=JSON.parse(this.dataset.values);"
                    "this.parentNode.querySelector('img').src=f[this.value];"
                    "this.parentNode.querySelector('output').textContent=v[this.value];")
        parts.append(
            f'<div class="bt-slider" data-name="{name}" style="margin:0.6em 0">'
            f'<div><b>{html.escape(name)}</b> - {html.escape(label)}</div>'
            f'<input type="range" min="0" max="{len(values) - 1}" step="1" value="{start}" aria-label="{name}" '
            f'data-frames=\'{json.dumps(pics)}\' data-values=\'{json.dumps(values)}\' '
            f'oninput="{on_input}" style="width:220px;vertical-align:middle"> '
            f'<output>{values[start]}</output><br>'
            f'<img src="{pics[start]}" alt="{name} = {values[start]}" width="{2 * images.shape[2] * len(images)}" '
            'style="image-rendering:pixelated;max-width:100%">'
            '</div>')
    parts.append("</div>")
    return HTML("".join(parts))
