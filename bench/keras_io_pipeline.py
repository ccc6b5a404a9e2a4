"""A per-image tf.data augmentation pipeline in the keras-io example's style, written for the speed comparison.

Same six augmentations and strengths as ``barlow_lib.augment`` (the keras-io example's defects fixed so both do the
same work), but applied one image at a time in ``Dataset.map``, two zipped pipelines for the two views, as
the keras-io example does.
"""
import tensorflow as tf

from barlow_lib.augment import AugmentConfig


def _blur(x, sigma, k=3):
    r = k // 2
    offsets = tf.cast(tf.range(-r, r + 1), tf.float32)
    w = tf.exp(-(offsets**2) / (2.0 * sigma**2))
    w = w / tf.reduce_sum(w)
    kernel = tf.tile(tf.reshape(w, (k, 1, 1, 1)), (1, 1, 3, 1))
    x = tf.pad(x[None], [[0, 0], [r, r], [r, r], [0, 0]], mode="REFLECT")
    x = tf.nn.depthwise_conv2d(x, kernel, [1, 1, 1, 1], "VALID")
    return tf.nn.depthwise_conv2d(x, tf.transpose(kernel, (1, 0, 2, 3)), [1, 1, 1, 1], "VALID")[0]


def augment_one(x, c: AugmentConfig):
    x = tf.cast(x, tf.float32) / 255.0
    size = c.image_size
    side = tf.random.uniform([], int(c.crop_min * size), int(c.crop_max * size) + 1, dtype=tf.int32)
    x = tf.image.resize(tf.image.random_crop(x, (side, side, 3)), (size, size))
    if tf.random.uniform([]) < c.flip_prob:
        x = tf.image.flip_left_right(x)
    if tf.random.uniform([]) < c.jitter_prob:
        x = tf.clip_by_value(tf.image.random_brightness(x, c.brightness), 0, 1)
        x = tf.clip_by_value(tf.image.random_contrast(x, 1 - c.contrast, 1 + c.contrast), 0, 1)
        x = tf.image.random_saturation(x, 1 - c.saturation, 1 + c.saturation)
        x = tf.image.random_hue(x, c.hue)
    if tf.random.uniform([]) < c.blur_prob:
        x = _blur(x, tf.random.uniform([], c.blur_sigma_min, c.blur_sigma_max))
    if tf.random.uniform([]) < c.grayscale_prob:
        x = tf.tile(tf.image.rgb_to_grayscale(x), (1, 1, 3))
    if tf.random.uniform([]) < c.solarize_prob:
        x = tf.where(x < c.solarize_threshold, x, 1.0 - x)
    return tf.clip_by_value(x, 0, 1)


def pairs_dataset(images, batch_size: int, config: AugmentConfig = AugmentConfig(), seed: int = 1024):
    """The keras-io example's structure: two shuffled, mapped, batched copies zipped together."""
    opts = tf.data.Options()
    opts.threading.max_intra_op_parallelism = 1

    def one_view():
        return (tf.data.Dataset.from_tensor_slices(images).shuffle(1000, seed=seed)
                .map(lambda x: augment_one(x, config), num_parallel_calls=tf.data.AUTOTUNE)
                .batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE).with_options(opts))

    return tf.data.Dataset.zip((one_view(), one_view())).with_options(opts)
