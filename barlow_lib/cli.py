"""The ``barlow-twins`` command line (also ``python -m barlow_lib``).

Expected mistakes print one ``error:`` line and a ``fix:`` line, exit status 2, no traceback; Ctrl-C says
how to resume (exit status 130). Library messages name parameters in backticks; they are shown as flags.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import signal
import sys
import time

FLAGS = {"batch_size": "--batch-size", "learning_rate": "--lr", "source": "--data", "out": "--out",
         "devices": "--devices", "epochs": "--epochs", "seed": "--seed", "limit": "--limit",
         "knn_every": "--knn-every", "image_size": "--image-size", "protocol": "--protocol",
         "label_fraction": "--label-fraction", "output": "--output", "train": "barlow-twins train", "run": "--run"}


def as_flags(text: str) -> str:
    """Library wording -> command-line wording: `batch_size` -> --batch-size."""
    return re.sub(r"`(\w+)`", lambda m: FLAGS.get(m[1], m[0]), text)


def _recipe(args):
    from . import recipes

    changes = {k: v for k, v in (("epochs", args.epochs), ("batch_size", args.batch_size),
                                 ("learning_rate", getattr(args, "lr", None)),
                                 ("knn_every", getattr(args, "knn_every", None)),
                                 ("loss", getattr(args, "loss", None))) if v is not None}
    if getattr(args, "precision", None):
        changes["model"] = {"precision": args.precision}
    return recipes.get(args.recipe).replace(**changes).check()


def cmd_info(args):
    from . import models

    r = _recipe(args)
    twin = models.build_twin(r)
    return {"recipe": r.name, "params": twin.count_params(), "backbone_params": twin.backbone.count_params(),
            "projector_params": twin.projector.count_params(), "feature_dim": int(twin.backbone.output.shape[-1]),
            "embedding_dim": int(twin.projector.output.shape[-1]),
            "backbone_flops_per_image": models.forward_flops(models.at_size(twin.backbone, r.model,
                                                                            r.augment.view_size)),
            "batch_size": r.batch_size, "epochs": r.epochs, "description": r.description}


def cmd_train(args):
    from . import data, train

    recipe = _recipe(args)  # a bad recipe or option fails before any data is read
    ds = data.load(args.data, limit=args.limit, seed=args.seed, image_size=args.image_size)
    t0 = time.perf_counter()
    run = train.train(recipe, ds, args.out, seed=args.seed, devices=args.devices, progress=not args.quiet)
    h = run.history()
    return {"run": str(run.path), "epochs": len(h["loss"]), "final_loss": h["loss"][-1] if h["loss"] else None,
            "complete": run.is_complete(), "wall_seconds": round(time.perf_counter() - t0, 1)}


def cmd_evaluate(args):
    from .errors import BarlowError
    from .recipes import ALIASES
    from .runs import Run

    run = Run(args.run)
    trained_with = run.config()["recipe"]["name"]
    if args.recipe and ALIASES.get(args.recipe, args.recipe) != ALIASES.get(trained_with, trained_with):
        raise BarlowError(f"{run.path} was trained with recipe {trained_with!r}, not {args.recipe!r}.",
                          f"drop --recipe, or point --run at a run of recipe {args.recipe!r}")
    result = run.evaluate(args.protocol, args.data, random_init=args.random_init, limit=args.limit,
                          label_fraction=args.label_fraction, output=args.output, progress=not args.quiet,
                          image_size=args.image_size)
    for warning in result["warnings"]:
        print(f"warning: {as_flags(warning)}", file=sys.stderr)
    try:
        run.save_evaluation(result)
    except BarlowError as err:  # read-only media: the result still counts
        print(f"warning: the result was not saved: {as_flags(err.problem)}", file=sys.stderr)
    shown = ("protocol", "accuracy", "split", "n_train", "n_eval", "random_init", "data", "recipe", "run", "seconds")
    extra = {k: result[k] for k in ("label_fraction", "output") if getattr(args, k) not in (None, "backbone")}
    return {k: result[k] for k in shown} | extra


def cmd_augment_preview(args):
    from . import data, recipes
    from .chapters import plotting
    from .errors import BarlowError

    if args.n < 1:
        raise BarlowError(f"--n {args.n}: the preview shows 1 or more images.", "use --n 8")
    import matplotlib.pyplot as plt
    from matplotlib.backend_bases import FigureCanvasBase

    from .files import atomic_write

    formats = FigureCanvasBase.get_supported_filetypes()
    fmt = os.path.splitext(args.out)[1].lower().lstrip(".")
    if fmt not in formats:  # before any data is read
        raise BarlowError(f"--out {args.out}: the preview is saved as an image file, and "
                          f"{'.' + fmt if fmt else 'a name without an extension'} is not one of "
                          f"{', '.join('.' + f for f in sorted(formats))}.",
                          f"end --out with .png (e.g. --out {os.path.splitext(args.out)[0]}.png)")
    ds = data.load(args.data, limit=None, seed=args.seed, image_size=args.image_size)
    config = recipes.get(args.recipe).for_image_size(ds.image_size).augment
    fig = plotting.view_pairs(ds.x_train[: args.n], config, seed=args.seed)
    try:  # whole or not at all: a kill or a full disk never leaves a truncated preview in place of a good one
        atomic_write(args.out, lambda p: fig.savefig(p, format=fmt, dpi=100, bbox_inches="tight"))
    finally:
        plt.close(fig)
    return {"out": args.out, "images": min(args.n, len(ds.x_train))}


def cmd_record(args):
    from . import records

    path = records.write(args.run, args.out, name=args.name, command=shlex.join(["barlow-twins", *sys.argv[1:]])
                         if args.command_line is None else args.command_line,
                         supervised_baseline=not args.no_supervised, progress=not args.quiet, data=args.data)
    return {"record": str(path), "bytes": sum(p.stat().st_size for p in path.rglob("*") if p.is_file())}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="barlow-twins", description="Barlow Twins self-supervised learning (Keras 3).")
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp, recipe_default="cpu"):  # the names written out: importing recipes would import Keras
        sp.add_argument("--recipe", default=recipe_default,
                        help="keras-io (alias seed), cifar, cpu, cpu-long or smoke")
        sp.add_argument("--epochs", type=int)
        sp.add_argument("--batch-size", type=int)

    common(s := sub.add_parser("info", help="print one JSON line describing a recipe's network"))
    s.set_defaults(func=cmd_info)

    common(s := sub.add_parser("train", help="pretrain (or resume) a run"))
    s.add_argument("--data", default="synthetic",
                   help="cifar10, cifar10-sample, synthetic, an image folder or an .npz file")
    s.add_argument("--out", required=True, help="run directory; an existing one is resumed")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--limit", type=int, help="use only N training images")
    s.add_argument("--image-size", type=int, help="resize every image to N x N (needed for large or mixed sizes)")
    s.add_argument("--devices", type=int, default=1, help="split each batch over N devices (global statistics)")
    s.add_argument("--lr", type=float, help="override the recipe's learning rate")
    s.add_argument("--knn-every", type=int, help="kNN monitor every N epochs (0: off)")
    s.add_argument("--precision", choices=["float32", "mixed_bfloat16", "mixed_float16"])
    s.add_argument("--loss", choices=["barlow_twins", "vicreg"], help="the recipe's loss (default: barlow_twins)")
    s.add_argument("--quiet", action="store_true", help="no progress bars")
    s.set_defaults(func=cmd_train)

    s = sub.add_parser("evaluate", help="kNN or linear-probe accuracy of a run's backbone")
    s.add_argument("--run", required=True)
    s.add_argument("--data", help="defaults to the run's training data")
    s.add_argument("--protocol", choices=["knn", "linear"], default="knn")
    s.add_argument("--random-init", action="store_true", help="the same architecture, untrained: the baseline")
    s.add_argument("--recipe", help="refuse the run unless it was trained with this recipe")
    s.add_argument("--limit", type=int, help="use only N training images as the kNN memory / probe data")
    s.add_argument("--label-fraction", type=float, help="use a class-balanced share of the training labels")
    s.add_argument("--output", choices=["backbone", "projector"], default="backbone",
                   help="probe the backbone's features, or the trained projector's output")
    s.add_argument("--image-size", type=int, help="resize --data to N x N (default: as the run's data was)")
    s.add_argument("--quiet", action="store_true")
    s.set_defaults(func=cmd_evaluate)

    s = sub.add_parser("augment-preview", help="save a grid of view pairs as a PNG")
    s.add_argument("--data", default="synthetic")
    s.add_argument("--out", required=True)
    s.add_argument("--recipe", default="keras-io")
    s.add_argument("--n", type=int, default=8)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--image-size", type=int)
    s.set_defaults(func=cmd_augment_preview)

    s = sub.add_parser("record", help="write a finished run's small, committable record (results/runs/NAME)")
    s.add_argument("--run", required=True)
    s.add_argument("--out", required=True, help="record folder, e.g. results/runs/cpu")
    s.add_argument("--name", help="the record's name (default: the folder's name)")
    s.add_argument("--no-supervised", action="store_true", help="skip the supervised label-efficiency baseline")
    s.add_argument("--data", help="where the run's training data is now, if it moved")
    s.add_argument("--command-line", help="the command to record as the run's (default: this one)")
    s.add_argument("--quiet", action="store_true")
    s.set_defaults(func=cmd_record)
    return p


def _import_keras_quietly():
    """Import Keras (and TensorFlow), answering Ctrl-C or SIGTERM during its start-up with an error line.

    ``backends`` mutes TF 2.21's start-up log lines, which no environment variable silences; here a signal that
    arrives meanwhile ends the process at once, since unwinding TF's half-done start-up can crash it."""
    if "keras" in sys.modules:
        return
    real_stderr = os.dup(2)  # backends mutes fd 2 while Keras loads

    def leave(signum, frame):  # nothing is written yet
        how = "interrupted" if signum == signal.SIGINT else "stopped by SIGTERM"
        os.write(real_stderr, f"error: {how} while starting.\n  fix: run the same command again\n".encode())
        os._exit(130 if signum == signal.SIGINT else 143)

    try:
        saved = {s: signal.signal(s, leave) for s in (signal.SIGINT, signal.SIGTERM)
                 if signal.getsignal(s) not in (signal.SIG_IGN, None)}
    except ValueError:  # not the main thread
        saved = {}
    try:
        from .backends import keras  # noqa: F401  (refuses an unsupported backend before Keras loads it)
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)
        os.close(real_stderr)


class Terminated(BaseException):
    """SIGTERM (``kill``, a scheduler's time limit), raised where the process stands, as Ctrl-C is."""


def _terminate(signum, frame):
    raise Terminated()


def main(argv=None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    try:
        previous = signal.signal(signal.SIGTERM, _terminate)
    except ValueError:  # not the main thread: leave SIGTERM as it is
        previous = None
    try:
        return _run(args)  # its first seconds import Keras: Ctrl-C or SIGTERM there is answered here too
    except (KeyboardInterrupt, Terminated) as stop:
        how = "interrupted" if isinstance(stop, KeyboardInterrupt) else "stopped by SIGTERM"
        print(f"error: {how}.", file=sys.stderr)
        if args.command == "train":
            print("  fix: run the same command again: it resumes after the last finished epoch", file=sys.stderr)
        else:
            print("  fix: run the same command again", file=sys.stderr)
        return 130 if isinstance(stop, KeyboardInterrupt) else 143
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _run(args) -> int:
    from .errors import BarlowError

    try:
        _import_keras_quietly()
        result = args.func(args)
    except BarlowError as err:
        print(f"error: {as_flags(err.problem)}", file=sys.stderr)
        if err.fix:
            print(f"  fix: {as_flags(err.fix)}", file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
