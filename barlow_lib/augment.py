"""Batched, on-device image augmentations for Barlow Twins.

Randomness is split from computation. ``draw_noise`` makes a small array of
uniform numbers per image and view on the host (13 floats per view); everything
else is a deterministic ``keras.ops`` function of the images and that noise.
This keeps training reproducible and resumable (the noise of a step is a pure
function of ``seed, epoch``), lets several devices split a batch without
sharing an RNG, and lets the slider viewer redraw the *same* draw with other
strengths.

Each augmentation is one small function of a batch and its per-image
parameters, and each is tested alone (``tests/test_augment.py``).
"""
from __future__ import annotations

import dataclasses
import functools

import numpy as np

from .backends import ops

# Columns of the noise array, one uniform number in [0, 1) each.
NOISE_FIELDS = (
    "crop_side", "crop_x", "crop_y", "flip", "jitter", "brightness", "contrast",
    "saturation", "hue", "blur", "blur_sigma", "grayscale", "solarize",
)
N_NOISE = len(NOISE_FIELDS)
_COL = {name: i for i, name in enumerate(NOISE_FIELDS)}
_LUMA = (0.299, 0.587, 0.114)


@dataclasses.dataclass(frozen=True)
class AugmentConfig:
    """Every probability and strength of the pipeline, in application order.

    Defaults are the keras-io example's strengths, with its defects fixed: the crop keeps a
    square side of 75%..100% of the image (both ends included), flip fires with
    probability ``flip_prob`` (not 0.5 * 0.5), solarize inverts pixels above
    ``solarize_threshold`` of a [0, 1] image, and blur draws sigma per image.
    """

    image_size: int = 32
    crop_min: float = 0.75  # smallest crop side, as a fraction of the image side
    crop_max: float = 1.0  # largest crop side (inclusive)
    flip_prob: float = 0.5
    jitter_prob: float = 0.8
    brightness: float = 0.8  # additive delta drawn from [-b, b]
    contrast: float = 0.6  # factor drawn from [1 - c, 1 + c]
    saturation: float = 0.6  # factor drawn from [1 - s, 1 + s]
    hue: float = 0.2  # hue rotation drawn from [-h, h] turns
    blur_prob: float = 0.2
    blur_sigma_min: float = 0.1  # pixels
    blur_sigma_max: float = 1.0
    blur_kernel: int = 3
    grayscale_prob: float = 0.2
    solarize_prob: float = 0.2
    solarize_threshold: float = 0.5
    output_size: int | None = None  # side of the views; None: image_size (smaller trains faster)

    @property
    def view_size(self) -> int:
        return self.output_size or self.image_size

    def replace(self, **changes) -> "AugmentConfig":
        return dataclasses.replace(self, **changes)

    def crop_sides(self) -> tuple[int, int]:
        """Smallest and largest crop side in pixels, both reachable."""
        lo = int(round(self.crop_min * self.image_size))
        hi = int(round(self.crop_max * self.image_size))
        return max(1, min(lo, hi)), max(1, hi)


KERAS_IO_BUGS = ("solarize", "flip", "crop", "blur")


def keras_io_bugs(config: AugmentConfig, *bugs: str, frozen_sigma: float = 0.5) -> AugmentConfig:
    """``config`` with some of the keras-io example's four augmentation bugs put back, as settings.

    Each bug is expressible in this pipeline's own fields: ``"solarize"`` never fires (probability 0);
    ``"flip"`` fires half as often (a 50% gate around a 50% flip); ``"crop"`` never keeps the whole side (the
    largest side is one pixel short); ``"blur"`` uses one sigma for every image of the run (``frozen_sigma``,
    the number the example's graph froze when it was traced). ``chapters/keras_io_reference`` restates the
    example's code; tests check these settings against it.
    """
    unknown = [b for b in bugs if b not in KERAS_IO_BUGS]
    if unknown:
        raise ValueError(f"unknown keras-io bugs {unknown}; they are {KERAS_IO_BUGS}")
    changes = {}
    if "solarize" in bugs:
        changes["solarize_prob"] = 0.0
    if "flip" in bugs:
        changes["flip_prob"] = config.flip_prob * 0.5
    if "crop" in bugs:
        changes["crop_max"] = min(config.crop_max, (config.image_size - 1) / config.image_size)
    if "blur" in bugs:
        changes |= {"blur_sigma_min": frozen_sigma, "blur_sigma_max": frozen_sigma}
    return config.replace(**changes)


def draw_noise(rng: np.random.Generator, n_images: int, n_views: int = 2) -> np.ndarray:
    """Uniform numbers that decide every random choice: shape (n, views, N_NOISE)."""
    return rng.random((n_images, n_views, N_NOISE), dtype=np.float32)


def sample_params(noise, config: AugmentConfig) -> dict:
    """Turn one view's noise (batch, N_NOISE) into per-image parameters."""
    u = {name: noise[:, i] for name, i in _COL.items()}
    lo, hi = config.crop_sides()
    side = ops.minimum(lo + ops.floor(u["crop_side"] * (hi - lo + 1)), hi)
    room = config.image_size - side + 1
    sym = lambda x, s: (2.0 * x - 1.0) * s  # noqa: E731  uniform in [-s, s]
    return {
        "crop_side": side,
        "crop_x": ops.floor(u["crop_x"] * room),
        "crop_y": ops.floor(u["crop_y"] * room),
        "flip": u["flip"] < config.flip_prob,
        "jitter": u["jitter"] < config.jitter_prob,
        "brightness": sym(u["brightness"], config.brightness),
        "contrast": 1.0 + sym(u["contrast"], config.contrast),
        "saturation": 1.0 + sym(u["saturation"], config.saturation),
        "hue": sym(u["hue"], config.hue),
        "blur": u["blur"] < config.blur_prob,
        "blur_sigma": config.blur_sigma_min
        + u["blur_sigma"] * (config.blur_sigma_max - config.blur_sigma_min),
        "grayscale": u["grayscale"] < config.grayscale_prob,
        "solarize": u["solarize"] < config.solarize_prob,
    }


def _gate(flags, new, old):
    return ops.where(ops.reshape(flags, (-1, 1, 1, 1)), new, old)


def _interp_matrix(start, side, in_size: int, out_size: int):
    """(batch, out_size, in_size) bilinear weights: output index i reads input index k of the crop."""
    i = ops.cast(ops.arange(out_size), "float32")
    k = ops.cast(ops.arange(in_size), "float32")
    src = start[:, None] + (i[None, :] + 0.5) * (side[:, None] / out_size) - 0.5
    src = ops.clip(src, start[:, None], start[:, None] + side[:, None] - 1.0)  # stay inside the crop
    return ops.maximum(0.0, 1.0 - ops.abs(src[:, :, None] - k[None, None, :]))


def random_resized_crop(images, side, x0, y0, out_size: int | None = None):
    """Crop a square of ``side`` px at (x0, y0), resized to ``out_size`` (default: the input's size).

    Bilinear with half-pixel centres. Axis-aligned scaling is separable, so it is two small
    batched matrix products: fast on any device, compilable by XLA, identical on TensorFlow and JAX.
    """
    size = images.shape[1]
    out_size = out_size or size
    side = ops.cast(side, "float32")
    rows = _interp_matrix(ops.cast(y0, "float32"), side, size, out_size)
    cols = _interp_matrix(ops.cast(x0, "float32"), side, size, out_size)
    x = ops.einsum("bik,bkjc->bijc", rows, images)
    return ops.einsum("bjk,bikc->bijc", cols, x)


def horizontal_flip(images, flags):
    return _gate(flags, ops.flip(images, axis=2), images)


def adjust_brightness(images, delta):
    return images + ops.reshape(delta, (-1, 1, 1, 1))


def adjust_contrast(images, factor):
    mean = ops.mean(images, axis=(1, 2), keepdims=True)  # per image and channel, like tf.image
    return (images - mean) * ops.reshape(factor, (-1, 1, 1, 1)) + mean


def adjust_saturation_hue(images, saturation, hue):
    hsv = ops.image.rgb_to_hsv(ops.clip(images, 0.0, 1.0))
    h = ops.mod(hsv[..., 0] + ops.reshape(hue, (-1, 1, 1)), 1.0)
    s = ops.clip(hsv[..., 1] * ops.reshape(saturation, (-1, 1, 1)), 0.0, 1.0)
    return ops.image.hsv_to_rgb(ops.stack([h, s, hsv[..., 2]], axis=-1))


def color_jitter(images, flags, brightness, contrast, saturation, hue):
    """Brightness, contrast, saturation, hue in the keras-io example's fixed order, clipped between steps."""
    x = ops.clip(adjust_brightness(images, brightness), 0.0, 1.0)
    x = ops.clip(adjust_contrast(x, contrast), 0.0, 1.0)
    x = adjust_saturation_hue(x, saturation, hue)
    return _gate(flags, x, images)


def gaussian_blur(images, flags, sigma, kernel_size: int = 3):
    """Separable Gaussian blur with a different sigma for every image."""
    r = kernel_size // 2
    offsets = ops.cast(ops.arange(-r, r + 1), "float32")
    sigma = ops.maximum(ops.cast(sigma, "float32"), 1e-3)
    w = ops.exp(-(offsets[None, :] ** 2) / (2.0 * sigma[:, None] ** 2))
    w = w / ops.sum(w, axis=1, keepdims=True)  # (batch, kernel_size)
    size = ops.shape(images)[1]
    x = ops.pad(images, [[0, 0], [0, 0], [r, r], [0, 0]], mode="reflect")
    x = sum(ops.reshape(w[:, j], (-1, 1, 1, 1)) * x[:, :, j : j + size, :] for j in range(kernel_size))
    x = ops.pad(x, [[0, 0], [r, r], [0, 0], [0, 0]], mode="reflect")
    x = sum(ops.reshape(w[:, j], (-1, 1, 1, 1)) * x[:, j : j + size, :, :] for j in range(kernel_size))
    return _gate(flags, x, images)


def grayscale(images, flags):
    luma = ops.sum(images * ops.convert_to_tensor(_LUMA, dtype=images.dtype), axis=-1, keepdims=True)
    return _gate(flags, ops.repeat(luma, 3, axis=-1), images)


def solarize(images, flags, threshold: float = 0.5):
    """Invert every pixel at or above ``threshold`` (images in [0, 1])."""
    return _gate(flags, ops.where(images < threshold, images, 1.0 - images), images)


def to_unit_float(images):
    """uint8 [0, 255] or float [0, 1] images -> float32 [0, 1]."""
    if "int" in str(images.dtype):
        return ops.cast(images, "float32") / 255.0
    return ops.cast(images, "float32")


def apply(images, params: dict, config: AugmentConfig):
    """The whole pipeline on a float [0, 1] batch, with parameters from ``sample_params``."""
    p = params
    x = random_resized_crop(images, p["crop_side"], p["crop_x"], p["crop_y"], config.view_size)
    x = horizontal_flip(x, p["flip"])
    x = color_jitter(x, p["jitter"], p["brightness"], p["contrast"], p["saturation"], p["hue"])
    x = gaussian_blur(x, p["blur"], p["blur_sigma"], config.blur_kernel)
    x = grayscale(x, p["grayscale"])
    x = solarize(x, p["solarize"], config.solarize_threshold)
    return ops.clip(x, 0.0, 1.0)


def augment(images, noise, config: AugmentConfig):
    """Augment a batch (uint8 or [0, 1] float) with one view's noise (batch, N_NOISE)."""
    return apply(to_unit_float(images), sample_params(noise, config), config)


def two_views(images, noise, config: AugmentConfig):
    """Both views of the *same* batch: noise has shape (batch, 2, N_NOISE)."""
    return augment(images, noise[:, 0], config), augment(images, noise[:, 1], config)


def _compiled(make, config: AugmentConfig):
    from .backends import keras

    if keras.backend.backend() != "tensorflow":
        return lambda images, noise: make(images, noise, config)
    import tensorflow as tf

    return tf.function(lambda images, noise: make(images, noise, config), jit_compile=True)


@functools.lru_cache(maxsize=16)
def compiled_two_views(config: AugmentConfig):
    """``two_views`` for one config, compiled with XLA on TensorFlow.

    XLA fuses the ~60 small element-wise ops into a few kernels (the speed-up on a CPU is in
    results/bench-augment.json), even when the network around it runs without XLA. JAX compiles the whole step anyway.
    One compiled function per config, shared by every twin built with it (its XLA compile is paid once).
    """
    return _compiled(two_views, config)


@functools.lru_cache(maxsize=16)
def compiled_augment(config: AugmentConfig):
    """``augment`` for one config (multi-crop's small views, one noise column each), compiled as
    ``compiled_two_views`` is."""
    return _compiled(augment, config)
