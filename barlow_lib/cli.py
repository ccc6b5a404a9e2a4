"""The ``barlow-twins`` command line (also ``python -m barlow_lib``).

Expected mistakes print one ``error:`` line and a ``fix:`` line, exit status 2, no traceback.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time


def _recipe(args):
    from . import recipes

    r = recipes.get(args.recipe)
    changes = {k: v for k, v in (("epochs", args.epochs), ("batch_size", args.batch_size),
                                 ("learning_rate", getattr(args, "lr", None))) if v is not None}
    if getattr(args, "knn_every", None) is not None:
        changes["knn_every"] = args.knn_every
    if getattr(args, "precision", None):
        changes["model"] = {"precision": args.precision}
    return r.replace(**changes)


def cmd_info(args):
    from . import models

    r = _recipe(args)
    twin = models.build_twin(r.model, r.augment, r.lambd)
    return {"recipe": r.name, "params": twin.count_params(), "backbone_params": twin.backbone.count_params(),
            "projector_params": twin.projector.count_params(), "feature_dim": int(twin.backbone.output.shape[-1]),
            "embedding_dim": int(twin.projector.output.shape[-1]),
            "backbone_flops_per_image": models.forward_flops(twin.backbone),
            "batch_size": r.batch_size, "epochs": r.epochs, "description": r.description}


def cmd_train(args):
    from . import data, train

    recipe = _recipe(args)  # an unknown recipe fails before any data is read
    ds = data.load(args.data, limit=args.limit, seed=args.seed)
    t0 = time.perf_counter()
    run = train.train(recipe, ds, args.out, source=args.data, seed=args.seed, devices=args.devices,
                      limit=args.limit, progress=not args.quiet)
    h = run.history()
    return {"run": str(run.path), "epochs": len(h["loss"]), "final_loss": h["loss"][-1] if h["loss"] else None,
            "complete": h.get("complete", False), "wall_seconds": round(time.perf_counter() - t0, 1)}


def cmd_evaluate(args):
    from . import checkpoint, data, evaluate, provenance
    from .errors import BarlowError
    from .runs import Run

    run = Run(args.run)
    config = run.config()
    if args.recipe and args.recipe != config["recipe"]["name"]:
        raise BarlowError(f"{run.path} was trained with recipe {config['recipe']['name']!r}, not {args.recipe!r}.",
                          f"drop --recipe, or point --run at a run of recipe {args.recipe!r}")
    source = args.data or config["data"]
    ds = data.load(source, limit=args.limit, seed=config["seed"])
    ds.require_labels()
    size = config["recipe"]["augment"]["image_size"]
    if ds.image_size != size:
        raise BarlowError(f"{run.path} was trained on {size}px images but {source} has {ds.image_size}px images.",
                          "evaluate on data of the size the run was trained on")
    t0 = time.perf_counter()
    backbone = run.load_backbone(random_init=args.random_init, seed=config["seed"])
    f_train = evaluate.extract_features(backbone, ds.x_train, progress=not args.quiet)
    f_eval = evaluate.extract_features(backbone, ds.x_eval, progress=not args.quiet)
    res = evaluate.evaluate_features(args.protocol, f_train, ds.y_train, f_eval, ds.y_eval,
                                     n_classes=len(ds.classes) or None)
    out = {"protocol": args.protocol, "accuracy": round(res["accuracy"], 4), "split": ds.eval_split,
           "n_train": len(ds.x_train), "n_eval": len(ds.x_eval), "random_init": args.random_init,
           "data": source, "recipe": config["recipe"]["name"], "run": str(run.path),
           "seconds": round(time.perf_counter() - t0, 1)}
    name = f"eval-{args.protocol}{'-random-init' if args.random_init else ''}.json"
    checkpoint.write_json(run.path / name, {**out, "provenance": provenance.collect()})
    return out


def cmd_augment_preview(args):
    from . import data, plotting, recipes

    ds = data.load(args.data, limit=None, seed=args.seed)
    config = recipes.get(args.recipe).for_image_size(ds.image_size).augment
    fig = plotting.view_pairs(ds.x_train[: args.n], config, seed=args.seed)
    fig.savefig(args.out, dpi=100, bbox_inches="tight")
    return {"out": args.out, "images": min(args.n, len(ds.x_train))}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="barlow-twins", description="Barlow Twins self-supervised learning (Keras 3).")
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp, recipe_default="cpu"):
        sp.add_argument("--recipe", default=recipe_default, help="seed, cifar, cpu or smoke")
        sp.add_argument("--epochs", type=int)
        sp.add_argument("--batch-size", type=int)

    common(s := sub.add_parser("info", help="print one JSON line describing a recipe's network"))
    s.set_defaults(func=cmd_info)

    common(s := sub.add_parser("train", help="pretrain (or resume) a run"))
    s.add_argument("--data", default="synthetic", help="cifar10, synthetic, an image folder or an .npz file")
    s.add_argument("--out", required=True, help="run directory; an existing one is resumed")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--limit", type=int, help="use only N training images")
    s.add_argument("--devices", type=int, default=1, help="split each batch over N devices (global statistics)")
    s.add_argument("--lr", type=float, help="override the recipe's learning rate")
    s.add_argument("--knn-every", type=int, help="kNN monitor every N epochs (0: off)")
    s.add_argument("--precision", choices=["float32", "mixed_bfloat16"])
    s.add_argument("--quiet", action="store_true", help="no progress bars")
    s.set_defaults(func=cmd_train)

    s = sub.add_parser("evaluate", help="kNN or linear-probe accuracy of a run's backbone")
    s.add_argument("--run", required=True)
    s.add_argument("--data", help="defaults to the run's training data")
    s.add_argument("--protocol", choices=["knn", "linear"], default="knn")
    s.add_argument("--random-init", action="store_true", help="the same architecture, untrained: the baseline")
    s.add_argument("--recipe", help="refuse the run unless it was trained with this recipe")
    s.add_argument("--limit", type=int, help="use only N training images as the kNN memory / probe data")
    s.add_argument("--quiet", action="store_true")
    s.set_defaults(func=cmd_evaluate)

    s = sub.add_parser("augment-preview", help="save a grid of view pairs as a PNG")
    s.add_argument("--data", default="synthetic")
    s.add_argument("--out", required=True)
    s.add_argument("--recipe", default="seed")
    s.add_argument("--n", type=int, default=8)
    s.add_argument("--seed", type=int, default=0)
    s.set_defaults(func=cmd_augment_preview)
    return p


def _import_keras_quietly():
    """Import Keras (and TensorFlow) without TF 2.21's start-up log lines, which no environment variable
    silences: a user's terminal should show our messages, not those."""
    if "keras" in sys.modules:
        return
    from .hardware import muted_stderr  # imports keras, inside the mute

    with muted_stderr():
        import keras

        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            tf.constant(0)  # TF probes its devices (and logs about CUDA) at the first op: do it muted


def main(argv=None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    _import_keras_quietly()
    from .errors import BarlowError

    try:
        result = args.func(args)
    except BarlowError as err:
        print(f"error: {err.problem}", file=sys.stderr)
        if err.fix:
            print(f"  fix: {err.fix}", file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
