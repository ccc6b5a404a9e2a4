"""The linear probe's solver, plain and as the library runs it, side by side on one run's features.

    python bench/linear_probe.py --run runs/cpu --data cifar10-jpeg --out results/bench-linear-probe.json

Extracts the features the run's recipe probes (every training image, and the evaluation split), then runs
``evaluate.linear_probe`` with the L2 strength chosen from its grid, twice: with the plain solver (float64
products, no preconditioning: the probe before ``precondition`` and ``float32`` existed) and with the
library's defaults. Each row: seconds, objective evaluations, the L2 strength chosen and the accuracy on the
evaluation split. The two must choose the same strength and read the same accuracy; the ratio of seconds is
what the default saves.
"""
from __future__ import annotations

import argparse
import time

import _common  # quiets TensorFlow; the command line a result file records
from barlow_lib import data, evaluate
from barlow_lib.runs import Run

SOLVERS = {"plain (float64, no preconditioning)": {"precondition": False, "float32": False},
           "library default": {}}


def features(run: Run, source: str):
    config = run.config()
    ds = data.load(source, seed=config.get("data_seed", config["seed"]), image_size=config.get("resize"))
    probed = run.load_probed()
    return (evaluate.extract_features(probed, ds.x_train), ds.y_train, evaluate.extract_features(probed, ds.x_eval),
            ds.y_eval, ds.eval_split)


def timed_probe(f_train, y_train, f_eval, y_eval, solver: dict) -> dict:
    """One probe as ``linear_probe`` runs it, counting the objective's evaluations over all its fits."""
    calls, lbfgs = [], evaluate.lbfgs

    def counted(fun, theta, **kwargs):
        def fun_counted(t):
            calls.append(1)
            return fun(t)
        return lbfgs(fun_counted, theta, **kwargs)

    evaluate.lbfgs = counted
    try:
        t0 = time.perf_counter()
        acc, _, l2 = evaluate.linear_probe(f_train, y_train, f_eval, y_eval, **solver)
        return {"seconds": round(time.perf_counter() - t0, 1), "evaluations": len(calls), "l2": l2,
                "accuracy": round(acc, 4)}
    finally:
        evaluate.lbfgs = lbfgs


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", required=True, help="a finished run folder")
    ap.add_argument("--data", required=True, help="the run's data (a folder with a test split scores on test)")
    ap.add_argument("--out", help="result file (JSON)")
    args = ap.parse_args()
    started, run = time.perf_counter(), Run(args.run)
    run.require_complete()
    f_train, y_train, f_eval, y_eval, split = features(run, args.data)
    rows = [{"solver": name, **timed_probe(f_train, y_train, f_eval, y_eval, solver)}
            for name, solver in SOLVERS.items()]
    plain, default = rows
    summary = {"speed-up": round(plain["seconds"] / default["seconds"], 2),
               "same L2 chosen": plain["l2"] == default["l2"],
               "accuracy difference (points)": round(100 * (default["accuracy"] - plain["accuracy"]), 2)}
    _common.write_result(args.out, "Linear probe: plain solver vs the library's", rows, summary, started,
                         run=args.run, split=split, n_train=len(y_train), n_eval=len(y_eval),
                         features=int(f_train.shape[1]))


if __name__ == "__main__":
    main()
