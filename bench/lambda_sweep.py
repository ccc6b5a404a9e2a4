"""What lambda does, measured: the book's live-run configuration trained once per lambda, then probed.

    python bench/lambda_sweep.py --out results/lambda-sweep.json

The configuration is chapter 3's live run (the `cpu` recipe, 30 epochs, batch 128, 5,000 training images
of CIFAR-10: the shipped sample where the download is not available); only lambda changes. Each run reports
kNN and linear-probe accuracy on the data's evaluation split, and the two loss terms on the final epoch's
fixed batch (the diagnostics training records).
"""
import argparse
import tempfile
import time

import _common
from barlow_lib import train
from barlow_lib.chapters import start

LAMBDAS = (0.0002, 0.001, 0.0051, 0.02, 0.1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", default="", help="default: CIFAR-10, or the shipped sample offline")
    p.add_argument("--lambdas", type=float, nargs="+", default=LAMBDAS)
    p.add_argument("--out")
    args = p.parse_args()
    started = time.perf_counter()
    recipe, ds, _ = start.live_run(source=args.data)
    rows, folder = [], tempfile.mkdtemp(prefix="lambda-sweep-")
    for lambd in args.lambdas:
        run = train.train(recipe.replace(lambd=lambd), ds, f"{folder}/{lambd:g}", progress=False)
        last = run.diagnostics()[recipe.epochs]
        rows.append({"lambda": lambd, "lambda x D": round(lambd * recipe.model.projector[-1], 3),
                     "kNN": run.evaluate("knn", ds)["accuracy"], "linear": run.evaluate("linear", ds)["accuracy"],
                     "invariance term": round(last["on_diag"], 1), "redundancy term": round(last["off_diag"], 1),
                     "effective rank (features)": round(last["effective_rank_features"], 1)})
        print(rows[-1], flush=True)
    baseline = {p: run.evaluate(p, ds, random_init=True)["accuracy"] for p in ("knn", "linear")}
    _common.write_result(args.out, "The effect of lambda on the live-run configuration", rows,
                         {"kNN at random init": baseline["knn"], "linear at random init": baseline["linear"],
                          "D (embedding width)": recipe.model.projector[-1], "recipe": recipe.name,
                          "epochs, batch": f"{recipe.epochs}, {recipe.batch_size}"},
                         started, data=ds.describe())


if __name__ == "__main__":
    main()
