"""Each augmentation alone, and the keras-io example's defects pinned as fixed."""
import numpy as np
import pytest

from barlow_lib import augment
from barlow_lib.augment import AugmentConfig
from conftest import to_np

pytestmark = pytest.mark.core
ALL, NONE = np.ones(8, bool), np.zeros(8, bool)


def images(n=8, seed=0):
    return np.random.default_rng(seed).uniform(0, 1, (n, 32, 32, 3)).astype(np.float32)


def params_for(n, cfg, seed=0):
    noise = augment.draw_noise(np.random.default_rng(seed), n)[:, 0]
    return {k: to_np(v) for k, v in augment.sample_params(noise, cfg).items()}


def test_solarize_inverts_bright_pixels_of_unit_images():
    # The keras-io example tested x < 10 on [0, 1] images: every pixel passed, nothing was ever inverted.
    x = images()
    out = to_np(augment.solarize(x, ALL, 0.5))
    bright = x >= 0.5
    np.testing.assert_allclose(out[bright], 1 - x[bright], atol=1e-6)
    np.testing.assert_allclose(out[~bright], x[~bright], atol=1e-6)
    assert np.abs(out - x).max() > 0.4
    np.testing.assert_allclose(to_np(augment.solarize(x, NONE, 0.5)), x)


def test_flip_fires_with_its_stated_probability():
    # The keras-io example gated a 50% random flip behind a 50% coin: 25% in total.
    p = params_for(20000, AugmentConfig(flip_prob=0.5))
    assert abs(p["flip"].mean() - 0.5) < 0.02
    x = images()
    np.testing.assert_allclose(to_np(augment.horizontal_flip(x, ALL)), x[:, :, ::-1])


def test_crop_covers_its_whole_configured_range_of_sizes():
    # The keras-io example drew sizes 24..31 with an exclusive maxval: the full 32 px was never kept.
    cfg = AugmentConfig(crop_min=0.75, crop_max=1.0)
    sides = params_for(20000, cfg)["crop_side"]
    assert set(np.unique(sides)) == set(range(24, 33))
    p = params_for(20000, cfg)
    assert np.all(p["crop_x"] >= 0) and np.all(p["crop_x"] + p["crop_side"] <= 32)


def test_full_size_crop_is_the_identity_and_small_crop_zooms():
    x = images()
    n = len(x)
    same = augment.random_resized_crop(x, np.full(n, 32.0), np.zeros(n), np.zeros(n))
    np.testing.assert_allclose(to_np(same), x, atol=1e-6)
    # a 16 px crop of a left/right split image, taken from the left half, is all left colour
    split = np.zeros((1, 32, 32, 3), np.float32)
    split[:, :, 16:] = 1.0
    left = to_np(augment.random_resized_crop(split, np.array([16.0]), np.array([0.0]), np.array([8.0])))
    assert left.max() < 1e-6


def test_crop_resizes_to_a_smaller_output_size_by_averaging_pixel_pairs():
    # Half-pixel bilinear at scale 2 samples between source pixels 2i and 2i+1: their mean.
    x = images(2)
    full, zero = np.full(2, 32.0), np.zeros(2)
    out = to_np(augment.random_resized_crop(x, full, zero, zero, 16))
    assert out.shape == (2, 16, 16, 3)
    pairs = x.reshape(2, 16, 2, 16, 2, 3).mean(axis=(2, 4))
    np.testing.assert_allclose(out, pairs, atol=1e-5)
    views = augment.two_views(x, augment.draw_noise(np.random.default_rng(0), 2),
                              AugmentConfig(output_size=16))
    assert all(to_np(v).shape == (2, 16, 16, 3) for v in views)


def test_blur_sigma_is_drawn_per_image_per_step():
    # The keras-io example drew sigma once, at trace time, and froze it for the whole run.
    cfg = AugmentConfig()
    s1, s2 = params_for(64, cfg, seed=1)["blur_sigma"], params_for(64, cfg, seed=2)["blur_sigma"]
    assert np.unique(s1).size > 50 and not np.allclose(s1, s2)
    x = np.repeat(images(1), 2, axis=0)
    out = to_np(augment.gaussian_blur(x, np.ones(2, bool), np.array([0.3, 2.0]), 3))
    assert np.abs(out[0] - x[0]).mean() < np.abs(out[1] - x[1]).mean()  # more sigma, more blur
    assert np.abs(out[1] - x[1]).mean() > 0.05


def test_grayscale_makes_channels_equal_and_jitter_respects_its_gate():
    x = images()
    g = to_np(augment.grayscale(x, ALL))
    np.testing.assert_allclose(g[..., 0], g[..., 2], atol=1e-6)
    ones = np.ones(8, np.float32)
    untouched = augment.color_jitter(x, NONE, ones * 0.5, ones * 1.5, ones * 1.5, ones * 0.2)
    np.testing.assert_allclose(to_np(untouched), x)
    neutral = augment.color_jitter(x, ALL, ones * 0, ones, ones, ones * 0)
    np.testing.assert_allclose(to_np(neutral), x, atol=2e-5)


def test_two_views_come_from_one_batch_and_differ_only_by_noise():
    x = (images() * 255).astype(np.uint8)
    noise = augment.draw_noise(np.random.default_rng(0), 8)
    cfg = AugmentConfig()
    same = np.stack([noise[:, 0], noise[:, 0]], axis=1)
    a, b = augment.two_views(x, same, cfg)
    np.testing.assert_allclose(to_np(a), to_np(b))
    a, b = augment.two_views(x, noise, cfg)
    a, b = to_np(a), to_np(b)
    assert not np.allclose(a, b)
    assert a.min() >= 0 and a.max() <= 1 and a.shape == x.shape


def test_pipeline_is_a_pure_function_of_images_and_noise():
    x = (images() * 255).astype(np.uint8)
    noise = augment.draw_noise(np.random.default_rng(5), 8)
    a1, _ = augment.two_views(x, noise, AugmentConfig())
    a2, _ = augment.two_views(x, noise, AugmentConfig())
    np.testing.assert_array_equal(to_np(a1), to_np(a2))


def test_the_keras_io_bugs_put_back_as_settings_behave_like_the_examples_code():
    from barlow_lib.chapters import keras_io_reference as ref

    base = AugmentConfig(crop_min=0.75, solarize_prob=0.2, blur_prob=1.0)
    assert augment.keras_io_bugs(base) == base  # no bug named: the config unchanged
    n, rng = 20000, np.random.default_rng(1)
    flip = params_for(n, augment.keras_io_bugs(base, "flip"))["flip"].mean()
    assert abs(flip - ref.flip_fires(rng, n).mean()) < 0.02 and abs(flip - 0.25) < 0.02
    sides = set(np.unique(params_for(n, augment.keras_io_bugs(base, "crop"))["crop_side"]).astype(int))
    assert sides == set(np.unique(ref.crop_sides(rng, n)).tolist()) == set(range(24, 32))
    assert not params_for(n, augment.keras_io_bugs(base, "solarize"))["solarize"].any()
    assert params_for(n, base)["solarize"].mean() > 0.15  # the fixed pipeline does solarize
    sigmas = params_for(64, augment.keras_io_bugs(base, "blur", frozen_sigma=0.3))["blur_sigma"]
    np.testing.assert_allclose(sigmas, 0.3)  # one sigma for every image, as the traced graph had
    assert np.ptp(params_for(64, base)["blur_sigma"]) > 0.3  # the fix: a sigma per image
    all_four = augment.keras_io_bugs(base, *augment.KERAS_IO_BUGS)
    assert (all_four.solarize_prob, all_four.flip_prob, all_four.crop_sides()) == (0.0, 0.25, (24, 31))
    with pytest.raises(ValueError, match="unknown keras-io bugs"):
        augment.keras_io_bugs(base, "colour")
