"""Augmentation throughput: batched on-device ops vs a per-image tf.data pipeline (the keras-io example's approach).

    python bench/augment.py --out results/bench-augment.json
"""
import argparse
import time

import _common  # noqa: F401  (quiet TensorFlow)
import numpy as np
import tensorflow as tf

from barlow_lib import augment
from barlow_lib.augment import AugmentConfig
from keras_io_pipeline import pairs_dataset


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--images", type=int, default=8192)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--out")
    args = p.parse_args()
    started = time.perf_counter()
    cfg = AugmentConfig()
    images = np.random.default_rng(0).integers(0, 255, (args.images, 32, 32, 3), dtype=np.uint8)
    rows = []

    def per_image():
        for _ in pairs_dataset(images, args.batch, cfg):
            pass

    rows.append({"pipeline": "per-image tf.data map (keras-io style), 2 zipped views",
                 "seconds": _common.best_time(per_image, 2)})
    noise = augment.draw_noise(np.random.default_rng(0), args.images)
    for jit in (False, True):
        step = tf.function(lambda x, n: augment.two_views(x, n, cfg), jit_compile=jit)

        def batched():
            for i in range(0, args.images - args.batch + 1, args.batch):
                a, b = step(images[i:i + args.batch], noise[i:i + args.batch])
            a.numpy()

        rows.append({"pipeline": f"batched keras.ops, one tf.function{' + XLA' if jit else ''}",
                     "seconds": _common.best_time(batched, 3)})
    n_pairs = args.images // args.batch * args.batch
    for r in rows:
        r["pairs/s"] = round(n_pairs / r["seconds"])
    base = rows[0]["pairs/s"]
    for r in rows:
        r["speed-up"] = round(r["pairs/s"] / base, 2)
    _common.write_result(args.out, "Augmentation throughput (two views per image, CPU)", rows,
                         {"best speed-up over the per-image pipeline": max(r["speed-up"] for r in rows)}, started,
                         data=f"{args.images} random 32x32 uint8 images, batch {args.batch}, keras-io strengths")


if __name__ == "__main__":
    main()
