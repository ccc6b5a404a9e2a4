"""Recipe sweep on a GPU machine: many short real-data runs side by side, one kNN figure each.

The `cpu` recipe must learn as much as it can in a fixed CPU budget. A GPU runs the same recipe (same
steps, same batches, float32) about a hundred times faster, so it can map the trade-offs (view size,
width, learning rate, crop range, epochs) that would take a day on two cores. Each variant names its
epochs; choose them so that every variant costs the same *CPU* time (bench/cpu_cost.py measures that).

Several workers share the GPU (tiny models leave it mostly idle); each claims the next unclaimed
variant through an exclusive file create, so the list is worked through in order. One JSON line per
variant is appended to ``--out``. Evaluation: kNN (k=200, T=0.1) on the validation split of the
training folder, at the data's size, plus at the view size when the recipe trains on smaller views.

A variant may instead *combine* earlier ones: ``{"name", "pick": [names], "deltas": [[names], ...]}``
waits for those results, takes the best of ``pick`` (highest kNN), and merges into it the overrides of
the best variant of each ``deltas`` group whose first name is the group's baseline (a group changes the
recipe only if one of its variants beat that baseline). ``"extra"`` overrides apply last, and
``"epochs_scale"`` multiplies the epochs.

    python bench/gpu/sweep.py --data DIR --variants bench/gpu/sweep.json --out results.jsonl --deadline 420
"""
from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from barlow_lib import augment, data, evaluate, models, recipes, train  # noqa: E402
from make_sweep import changes, merge  # noqa: E402  (bench/gpu/, the script's own folder)


def resized(images: np.ndarray, size: int, batch: int = 2048) -> np.ndarray:
    """Whole images scaled to ``size`` px with the training crop's own bilinear resize (uint8 out)."""
    out = []
    for s in range(0, len(images), batch):
        x = augment.to_unit_float(images[s:s + batch])
        n = x.shape[0]
        full = np.full((n,), images.shape[1], np.float32)
        zero = np.zeros((n,), np.float32)
        y = keras.ops.convert_to_numpy(augment.random_resized_crop(x, full, zero, zero, size))
        out.append(np.round(np.clip(y, 0, 1) * 255).astype(np.uint8))
    return np.concatenate(out)


def knn(backbone, ds) -> float:
    return round(evaluate.backbone_knn(backbone, ds.x_train, ds.y_train, ds.x_eval, ds.y_eval), 4)


_RANDOM_INIT = {}  # kNN of an untrained backbone depends only on the architecture and the seed


def random_init_knn(run, recipe, seed, ds) -> float:
    key = json.dumps([recipe.model.stem, recipe.model.stem_stride, recipe.model.depth, recipe.model.width, seed])
    if key not in _RANDOM_INIT:
        _RANDOM_INIT[key] = knn(run.load_backbone(random_init=True, seed=seed), ds)
    return _RANDOM_INIT[key]


def run_variant(spec: dict, ds, workdir: str) -> dict:
    spec = dict(spec)
    name, base = spec.pop("name"), spec.pop("recipe", "cpu")
    seed = spec.pop("seed", 0)
    recipe = recipes.get(base).replace(**spec)
    t = time.perf_counter()
    run = train.train(recipe, ds, os.path.join(workdir, name), seed=seed, progress=False)
    train_s = time.perf_counter() - t
    trained = run.load_backbone()
    res = {"name": name, "recipe": base, "seed": seed, "overrides": spec, "epochs": recipe.epochs,
           "knn": knn(trained, ds), "knn_random_init": random_init_knn(run, recipe, seed, ds),
           "loss": [round(v, 1) for v in run.history()["loss"]], "train_s": round(train_s, 1)}
    view = recipe.augment.replace(image_size=ds.image_size).view_size
    if view != ds.image_size:  # also evaluate at the size the network trained on
        small = data.Dataset(ds.name, resized(ds.x_train, view), ds.y_train, resized(ds.x_eval, view),
                             ds.y_eval, ds.eval_split)
        res[f"knn_at_{view}px"] = knn(models.at_size(trained, recipe.model, view), small)
    return res


def read_results(path) -> dict:
    if not os.path.exists(path):
        return {}
    rows = [json.loads(line) for line in open(path) if line.strip()]
    return {r["name"]: r for r in rows}


def resolve_combination(spec: dict, path: str, claims: str, wait_until: float) -> dict:
    """Turn a {"pick", "deltas"} spec into a plain variant once the claimed results it needs are in."""
    names = list(spec["pick"]) + [n for group in spec["deltas"] for n in group]
    while time.perf_counter() < wait_until:
        started = [n for n in names if os.path.exists(os.path.join(claims, n))]
        if all(n in read_results(path) for n in started):
            break
        time.sleep(5)
    done = {n: r for n, r in read_results(path).items() if "knn" in r}
    picks = [done[n] for n in spec["pick"] if n in done]
    if not picks:
        raise RuntimeError(f"none of {spec['pick']} finished")
    best = max(picks, key=lambda r: r["knn"])
    overrides = {**best["overrides"], "epochs": best["epochs"]}
    chosen = [best["name"]]
    for group in spec["deltas"]:
        rows = [done[n] for n in group if n in done]
        if rows and group[0] in done:
            winner = max(rows, key=lambda r: r["knn"])
            if winner["name"] != group[0]:
                overrides = merge(overrides, changes(done[group[0]]["overrides"], winner["overrides"]))
                chosen.append(winner["name"])
    overrides = merge(overrides, spec.get("extra", {}))
    if "epochs_scale" in spec:
        overrides["epochs"] = int(round(overrides["epochs"] * spec["epochs_scale"]))
    return {"name": spec["name"], "recipe": best["recipe"], "seed": spec.get("seed", 0), "combined": chosen,
            **overrides}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--variants", required=True)
    p.add_argument("--out", required=True, help="JSON-lines file, appended to")
    p.add_argument("--claims", default="/tmp/sweep_claims")
    p.add_argument("--deadline", type=float, default=420, help="start no variant after this many seconds")
    p.add_argument("--combine-wait", type=float, default=480, help="combinations wait at most until then")
    p.add_argument("--limit", type=int)
    args = p.parse_args()
    t0 = time.perf_counter()
    os.makedirs(args.claims, exist_ok=True)
    ds = data.load(args.data, limit=args.limit)
    for spec in json.load(open(args.variants)):
        if time.perf_counter() - t0 > args.deadline and "pick" not in spec:
            continue  # past the deadline only combinations start
        try:
            os.close(os.open(os.path.join(args.claims, spec["name"]), os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            continue
        keras.backend.clear_session()
        try:
            combined = None
            if "pick" in spec:
                spec = resolve_combination(spec, args.out, args.claims, t0 + args.combine_wait)
                combined = spec.pop("combined")
            res = run_variant(spec, ds, "/tmp/sweep_runs")
            if combined:
                res["combined"] = combined
        except Exception as exc:  # one broken variant must not stop the sweep
            res = {"name": spec["name"], "error": repr(exc)[:500]}
        res["worker_s"] = round(time.perf_counter() - t0, 1)
        print(json.dumps(res), flush=True)
        with open(args.out, "a") as f:
            f.write(json.dumps(res) + "\n")


if __name__ == "__main__":
    main()
