"""Writes bench/gpu/sweep.json: variants of the `cpu` recipe that each cost the same CPU time.

Epochs = floor(BUDGET / CPU seconds per epoch), from per-step medians measured on the 2-core CPU with
bench/cpu_cost.py (batch 256 unless named; 45,000 training images).
"""
import json
import os

BUDGET = 430.0  # CPU seconds of training: the 10-minute target minus loading, saving and timing noise
MS_PER_STEP = {  # bench/cpu_cost.py medians (ms per step), AMD EPYC 2 cores, TF 2.21 float32
    "base": 305, "v24": 182, "v16": 105, "v20": 142, "w24v16": 169, "w32v16": 227, "r18v16": 149,
    "r18v24": 289, "w24v24": 312, "v24p512": 157, "v16p2048": 192, "w24s2": 167, "w32s2": 233,
    "v16p512": 75.5, "v16p1024x2": 84.9, "v16b128": 55.5, "v16b512": 189,
}
ARCH = {
    "base": {}, "v24": {"augment": {"output_size": 24}}, "v16": {"augment": {"output_size": 16}},
    "v20": {"augment": {"output_size": 20}},
    "w24v16": {"model": {"width": 24}, "augment": {"output_size": 16}},
    "w32v16": {"model": {"width": 32}, "augment": {"output_size": 16}},
    "r18v16": {"model": {"depth": 18}, "augment": {"output_size": 16}},
    "r18v24": {"model": {"depth": 18}, "augment": {"output_size": 24}},
    "w24v24": {"model": {"width": 24}, "augment": {"output_size": 24}},
    "v24p512": {"model": {"projector": [512, 512, 512]}, "augment": {"output_size": 24}},
    "v16p2048": {"model": {"projector": [2048, 2048, 2048]}, "augment": {"output_size": 16}},
    "w24s2": {"model": {"width": 24, "stem_stride": 2}},
    "w32s2": {"model": {"width": 32, "stem_stride": 2}},
    "v16p512": {"model": {"projector": [512, 512, 512]}, "augment": {"output_size": 16}},
    "v16p1024x2": {"model": {"projector": [1024, 1024]}, "augment": {"output_size": 16}},
    "v16b128": {"batch_size": 128, "augment": {"output_size": 16}},
    "v16b512": {"batch_size": 512, "augment": {"output_size": 16}},
}
MILD = {"brightness": 0.4, "contrast": 0.4, "saturation": 0.4, "hue": 0.1}
DELTAS = {  # applied to the v16 anchor, grouped: a group changes one thing
    "lr": {"lr2e-2": {"learning_rate": 0.02}, "lr5e-3": {"learning_rate": 0.005}, "lr4e-2": {"learning_rate": 0.04}},
    "crop": {"crop.25": {"augment": {"crop_min": 0.25}}, "crop.5": {"augment": {"crop_min": 0.5}}},
    "colour": {"colstrong": {"augment": {k: round(v * 1.5, 3) for k, v in MILD.items()}},
               "colweak": {"augment": {k: round(v * 0.5, 3) for k, v in MILD.items()}}},
    "lambda": {"lam.01": {"lambd": 0.01}, "lam.0025": {"lambd": 0.0025}},
    "wd": {"wd0": {"weight_decay": 0.0}, "wd1e-3": {"weight_decay": 1e-3}},
    "solarize": {"sol0": {"augment": {"solarize_prob": 0.0}}},
    "grayscale": {"gray0": {"augment": {"grayscale_prob": 0.0}}},
    "warmup": {"warm0": {"warmup_epochs": 0}},
}


def merge(a: dict, b: dict) -> dict:
    """``a`` with ``b``'s fields, nested dicts merged field by field."""
    out = dict(a)
    for k, v in b.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def changes(base: dict, new: dict) -> dict:
    """The (nested) fields of ``new`` that differ from ``base``."""
    out = {}
    for k, v in new.items():
        if isinstance(v, dict):
            sub = changes(base.get(k) or {}, v)
            if sub:
                out[k] = sub
        elif base.get(k) != v:
            out[k] = v
    return out


# The sweep's starting point: the `cpu` recipe as it was before the sweep (commit 8d7b3ef), spelled out so
# that this file regenerates the same variants whatever `cpu` has become since.
BASE = {"model": {"depth": 10, "width": 16, "stem_stride": 1, "projector": [1024, 1024, 1024]},
        "augment": {"crop_min": 0.35, "output_size": None, **MILD, "blur_prob": 0.0, "solarize_prob": 0.1,
                    "grayscale_prob": 0.2},
        "learning_rate": 0.01, "weight_decay": 1e-4, "lambd": 0.0051, "warmup_epochs": 1, "batch_size": 256}


def arch(name, scale=1.0, **extra):
    epochs = int(BUDGET * scale / (MS_PER_STEP[name] / 1000 * (45000 // ARCH[name].get("batch_size", 256))))
    return {"name": name + (f"-x{scale}" if scale != 1 else ""), "recipe": "cpu", "epochs": epochs,
            **merge(merge(BASE, ARCH[name]), extra)}


def delta(name):
    group = next(g for g in DELTAS.values() if name in g)
    return {**merge(arch("v16"), group[name]), "name": f"v16-{name}"}


def main():
    calib = {**arch("base"), "name": "cpu-e7", "epochs": 7}  # the cpu recipe as committed: CPU measured 47.5%
    order = [calib, arch("v16"), arch("v24"), arch("v20"), arch("w24v16"), arch("r18v16"), arch("w32s2"),
             delta("lr2e-2"), delta("lr5e-3"), delta("crop.25"), delta("crop.5"), delta("colstrong"),
             delta("colweak"), arch("w24s2"), arch("v16p512"), arch("v16p1024x2"), arch("w32v16"),
             delta("lam.01"), delta("lam.0025"), delta("lr4e-2"), delta("wd0"), delta("sol0"), delta("gray0"),
             delta("warm0"), delta("wd1e-3"), arch("base"), arch("v24p512"), arch("r18v24"), arch("v16b128"),
             arch("v16b512"), arch("v16p2048"), arch("w24v24"), {**arch("v16"), "name": "v16-seed1", "seed": 1},
             arch("v16", scale=1.5)]
    same_cost = [v["name"] for v in order if v["name"] in ARCH]
    deltas = [["v16"] + [f"v16-{n}" for n in g] for g in DELTAS.values()]
    order += [{"name": "combo", "pick": same_cost, "deltas": deltas},
              {"name": "combo-seed1", "pick": same_cost, "deltas": deltas, "seed": 1},
              {"name": "combo-v16", "pick": ["v16", "v16p512", "v16p1024x2"], "deltas": deltas},
              {"name": "combo-x1.5", "pick": same_cost, "deltas": deltas, "epochs_scale": 1.5}]
    path = os.path.join(os.path.dirname(__file__), "sweep.json")
    with open(path, "w") as f:
        f.write("[\n" + ",\n".join(json.dumps(v) for v in order) + "\n]\n")
    print(f"{len(order)} variants -> {path}")


if __name__ == "__main__":
    main()
