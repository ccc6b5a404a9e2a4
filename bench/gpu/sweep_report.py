"""Turn a sweep's JSON lines into a result file for the book (results/gpu-sweep.json).

    python bench/gpu/sweep_report.py SWEEP_DIR --out results/gpu-sweep.json

SWEEP_DIR holds sweep.jsonl and provenance.json, both written by bench/gpu/sweep.sh on the GPU machine.
Rows are sorted by kNN accuracy; each names its changes to the sweep's starting point (make_sweep.BASE).
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import _common  # noqa: E402
from make_sweep import BASE, changes  # noqa: E402


def flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        out.update(flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("sweep_dir")
    p.add_argument("--out")
    args = p.parse_args()
    rows = [json.loads(line) for line in open(os.path.join(args.sweep_dir, "sweep.jsonl")) if line.strip()]
    prov = json.load(open(os.path.join(args.sweep_dir, "provenance.json")))
    table = []
    for r in sorted((r for r in rows if "knn" in r), key=lambda r: -r["knn"]):
        diff = {k: v for k, v in flat(changes(BASE, r["overrides"])).items() if k != "epochs"}
        table.append({"variant": r["name"], "epochs": r["epochs"],
                      "changes to the old cpu recipe": ", ".join(f"{k}={v}" for k, v in diff.items()) or "-",
                      "kNN": r["knn"], "kNN random init": r["knn_random_init"],
                      "GPU train s": r["train_s"], "seed": r["seed"]})
    failed = [r["name"] for r in rows if "knn" not in r]
    summary = {"variants run": len(table), "failed": ", ".join(failed) or "none",
               "budget": "every variant's epochs cost the same 430 s on the 2-core CPU (bench/cpu_cost.py); "
                         "x1.5 variants 1.5 times that",
               "GPU train s": "8 sweep processes shared one GPU: a scheduling figure, not a speed measurement",
               "noise": "'combo' and 'combo-v16' are the same recipe and seed: their gap is run-to-run noise"}
    result = {"title": "Tuning the cpu recipe on a GPU: equal-CPU-cost variants, kNN on a validation split",
              "rows": table, "summary": summary,
              "command": "bash bench/gpu/sweep.sh bench/gpu/sweep.json 8 300 340 480 (then "
                         f"python bench/gpu/sweep_report.py {args.sweep_dir} --out {args.out})",
              "data": "CIFAR-10 training JPEGs: 45,000 train / 5,000 val-from-train (last 10% of each class)",
              "provenance": prov}
    _common.print_table(table)
    if args.out:
        with open(args.out, "w") as f:
            f.write(json.dumps(result, indent=1) + "\n")
        print("wrote", args.out)


if __name__ == "__main__":
    main()
