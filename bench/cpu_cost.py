"""CPU cost of recipe variants: median milliseconds per training step, each variant in a fresh process.

    python bench/cpu_cost.py --recipe cpu '{}' '{"augment": {"output_size": 16}}' '{"model": {"width": 32}}'

Each argument is a JSON dict of overrides (``Recipe.replace``). The step runs exactly as in training
(augmentation inside the step, the recipe's precision and XLA setting) on random uint8 images; the first
steps (tracing) are dropped and the median of the rest is reported, with seconds per epoch of 45,000
images. bench/gpu/make_sweep.py turns these figures into equal-cost epoch counts.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import _common

STEPS, SKIP = 24, 4


def measure(recipe_name: str, overrides: dict) -> dict:
    import keras
    import numpy as np

    from barlow_lib import augment, models, recipes

    r = recipes.get(recipe_name).replace(**overrides)
    twin = models.build_twin(r, steps_per_epoch=100)
    b = r.batch_size
    rng = np.random.default_rng(0)
    x = {"images": rng.integers(0, 255, (b * STEPS, 32, 32, 3), dtype=np.uint8),
         "noise": augment.draw_noise(rng, b * STEPS)}
    ends = []
    stamp = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: ends.append(time.perf_counter()))
    twin.fit(x, batch_size=b, verbose=0, callbacks=[stamp])
    ms = float(np.median(np.diff(ends)[SKIP:]) * 1e3)
    return {"overrides": json.dumps(overrides), "ms_per_step": round(ms, 1),
            "s_per_epoch_45k": round(45000 // b * ms / 1e3, 1),
            "backbone_mflops": models.forward_flops(twin.backbone) / 1e6}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--recipe", default="cpu")
    p.add_argument("--out")
    p.add_argument("--one", help=argparse.SUPPRESS)  # internal: measure one variant, print JSON
    p.add_argument("variants", nargs="*", default=["{}"])
    args = p.parse_args()
    if args.one is not None:
        print(json.dumps(measure(args.recipe, json.loads(args.one))))
        return
    started = time.perf_counter()
    rows = []
    for v in args.variants:
        out = subprocess.run([sys.executable, __file__, "--recipe", args.recipe, "--one", v],
                             capture_output=True, text=True, check=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    _common.write_result(args.out, f"CPU cost per training step, variants of `{args.recipe}`", rows, {}, started)


if __name__ == "__main__":
    main()
