"""bench/cpu_seeds.py: a recipe's seeds, each trained and scored, their mean and spread, resumable."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT / "bench"))
import cpu_seeds  # noqa: E402
from barlow_lib import records  # noqa: E402


def script_args(tmp_path, **given):
    """bench/cpu_seeds.py's arguments, as its command line gives them, for calling ``seeds`` in-process."""
    return cpu_seeds.argparse.Namespace(**{"recipe": "cpu", "epochs": None, "record": None, "seeds": [0],
                                           "data": "synthetic", "limit": None, "work": str(tmp_path / "work"),
                                           "out": str(tmp_path / "seeds.json")} | given)


class FakeRecord(records.Record):
    def __init__(self, data, name="cpu"):
        self.data, self.arrays, self.name = data, {}, name


def test_the_summary_is_the_mean_and_sample_spread_of_the_seeds_in_points():
    seeds = [{"accuracy": {"knn": 0.60, "linear": 0.70}, "train_seconds": 600},
             {"accuracy": {"knn": 0.62, "linear": 0.66}, "train_seconds": 660}]
    s = cpu_seeds.summary(seeds)
    assert s["knn"] == {"mean": 61.0, "sd": pytest.approx(np.std([60, 62], ddof=1), abs=0.01)}
    assert s["linear"]["mean"] == 68.0 and s["linear"]["sd"] == pytest.approx(2.83, abs=0.01)
    assert s["train_minutes"]["mean"] == 10.5
    assert cpu_seeds.summary(seeds[:1])["knn"]["sd"] is None  # one seed has no spread


@pytest.mark.integration  # three runs of the script, each starting TensorFlow: a minute, outside the unit suite
def test_seeds_are_trained_scored_against_random_init_and_skipped_once_in_the_file(tmp_path):
    out, work = tmp_path / "seeds.json", tmp_path / "work"
    cmd = [sys.executable, str(ROOT / "bench" / "cpu_seeds.py"), "--data", "synthetic", "--recipe", "smoke",
           "--epochs", "1", "--limit", "128", "--work", str(work), "--out", str(out)]
    subprocess.run([*cmd, "--seeds", "0"], check=True, capture_output=True, cwd=ROOT)
    result = json.loads(out.read_text())
    assert [s["seed"] for s in result["seeds"]] == [0]
    first = result["seeds"][0]
    assert set(first["accuracy"]) == {"knn", "linear", "knn_random_init", "linear_random_init"}
    assert first["split"] and first["n_train"] > 0 and first["train_seconds"] > 0
    assert first["provenance"]["start"]["commit"]
    assert result["recipe"]["epochs"] == 1
    assert [c.split("--seeds")[1] for c in result["command"].split(" && ")] == [" 0"]

    again = subprocess.run([*cmd, "--seeds", "0", "1"], check=True, capture_output=True, cwd=ROOT, text=True)
    result2 = json.loads(out.read_text())
    assert [s["seed"] for s in result2["seeds"]] == [0, 1]
    assert result2["seeds"][0] == first, "seed 0 was in the file: not trained again"
    assert "seed 0:" not in again.stdout and "seed 1:" in again.stdout
    assert result2["summary"]["knn"]["mean"] == pytest.approx(
        np.mean([s["accuracy"]["knn"] * 100 for s in result2["seeds"]]), abs=0.01)
    assert [c.split("--seeds")[1] for c in result2["command"].split(" && ")] == [" 0", " 0 1"]

    other = subprocess.run([*cmd[:-2], "--epochs", "2", "--out", str(out)] + ["--seeds", "3"], capture_output=True,
                           text=True, cwd=ROOT)
    assert other.returncode == 2 and "error:" in other.stderr and "fix:" in other.stderr
    assert "Traceback" not in other.stderr
    assert json.loads(out.read_text()) == result2  # the file is left as it was


def test_the_books_seed_line_gives_each_probe_its_spread_and_says_where_the_record_stands():
    from barlow_lib.chapters import seeds

    result = {"recipe": {"name": "cpu"}, "summary": cpu_seeds.summary(
        [{"accuracy": {"knn": 0.60, "linear": 0.70, "knn_random_init": 0.33, "linear_random_init": 0.46},
          "train_seconds": 500},
         {"accuracy": {"knn": 0.62, "linear": 0.72, "knn_random_init": 0.33, "linear_random_init": 0.48},
          "train_seconds": 520}]),
        "seeds": [{"seed": 0, "split": "test", "n_train": 50000, "n_eval": 10000, "train_seconds": 500,
                   "accuracy": {"knn": 0.60, "linear": 0.70, "knn_random_init": 0.33, "linear_random_init": 0.46}},
                  {"seed": 1, "split": "test", "n_train": 50000, "n_eval": 10000, "train_seconds": 520,
                   "accuracy": {}}]}
    rec = FakeRecord({"config": {"seed": 0}, "split": "test", "evaluations": {
        k: {"accuracy": v} for k, v in result["seeds"][0]["accuracy"].items()}})
    text = seeds.sentence(result, rec)
    assert "2 seeds (0, 1)" in text and "kNN 61.0 ± 1.4% (random init 33.0 ± 0.00%)" in text
    assert "linear 71.0 ± 1.4%" in text and "the same figures to the last digit" in text  # trained again
    assert "8.5 min of training per seed on average (8.3 to 8.7 min)" in text  # the days differ: say by how much
    result["seeds"][1]["train_seconds"] = 502
    assert "on average." in seeds.sentence(result, rec)  # within a tenth of a minute: no range
    result["seeds"][0]["record"] = "cpu"  # counted from the record (--record): read, not a reproduction
    assert "the record itself, its figures read from the record" in seeds.sentence(result, rec)
    del result["seeds"][0]["record"]
    rec["evaluations"]["linear"]["accuracy"] = 0.705  # the record's run and the file's seed 0 differ
    assert "trained again" in seeds.sentence(result, rec)
    rec["config"]["seed"] = 7
    assert "not among these" in seeds.sentence(result, rec)


def test_a_record_of_the_recipe_counts_as_its_seed_read_not_measured_again(tmp_path, monkeypatch):
    from barlow_lib import recipes, records

    recipe = recipes.get("smoke").replace(epochs=1)
    folder = tmp_path / "records" / "smoke-record"
    folder.mkdir(parents=True)
    accuracy = {"knn": 0.41, "knn_random_init": 0.2, "linear": 0.52, "linear_random_init": 0.3}
    (folder / "record.json").write_text(json.dumps({
        "config": {"recipe": recipe.to_dict(), "seed": 5}, "split": "test", "n_train": 100, "n_eval": 50,
        "train_seconds": 12.0, "evaluations": {k: {"accuracy": v} for k, v in accuracy.items()},
        "provenance": {"run": {"start": {"commit": "abc"}}}, "data": "synthetic: 100 images"}))
    np.savez(folder / "arrays.npz")
    monkeypatch.setenv("BARLOW_RECORDS", str(tmp_path / "records"))
    result = {"recipe": recipe.to_dict(), "seeds": [{"seed": 1}, {"seed": 5, "stale": True}]}
    cpu_seeds.from_record(result, "smoke-record", recipe)
    assert [s["seed"] for s in result["seeds"]] == [1, 5]
    five = result["seeds"][1]
    assert five["accuracy"] == accuracy and five["record"] == "smoke-record" and "stale" not in five
    assert five["train_seconds"] == 12.0 and five["provenance"] == {"start": {"commit": "abc"}}
    with pytest.raises(cpu_seeds.BarlowError, match="not a record of today's"):
        cpu_seeds.from_record(result, "smoke-record", recipe.replace(epochs=2))
    with pytest.raises(cpu_seeds.BarlowError, match="not a record"):
        cpu_seeds.from_record(result, "no-such-record", recipe)
    assert records.load("smoke-record") is not None
    # the script adds a record to a file whose seeds are all trained already: written, not silently dropped
    out = tmp_path / "seeds.json"
    one = {"seed": 1, "accuracy": dict(accuracy), "train_seconds": 10.0}
    out.write_text(json.dumps({"recipe": recipe.to_dict(), "seeds": [one], "command": "earlier"}))
    cpu_seeds.seeds(script_args(tmp_path, recipe="smoke", epochs=1, record="smoke-record", seeds=[1], out=str(out)))
    written = json.loads(out.read_text())
    assert [s["seed"] for s in written["seeds"]] == [1, 5] and written["summary"]["train_minutes"]["mean"] == 0.2
    assert written["command"].startswith("earlier && ") and written["data"] == "synthetic: 100 images"


def test_a_spread_under_a_tenth_of_a_point_does_not_read_as_none():
    from barlow_lib.chapters import seeds

    result = {"summary": {"linear": {"mean": 70.98, "sd": 0.04}, "knn": {"mean": 60.06, "sd": None}}}
    assert seeds.spread(result, "linear") == "71.0 ± 0.04%" and seeds.spread(result, "knn") == "60.1%"


def test_a_file_whose_recipe_differs_only_in_its_description_is_the_same_recipe(tmp_path):
    # A reworded description changes no setting: the file's seeds still count, and its command still runs.
    from barlow_lib import recipes
    cpu = recipes.get("cpu")
    assert cpu.trains_as(cpu.to_dict() | {"description": "said otherwise"})
    assert not cpu.trains_as(cpu.replace(epochs=cpu.epochs + 1).to_dict())
    assert not cpu.trains_as(cpu.replace(augment={"output_size": 32}).to_dict() | {"description": cpu.description})
    # and the script itself goes on with such a file (its seed 0 already in it: nothing trains), not another's
    done = {"seed": 0, "accuracy": {"knn": 0.6, "linear": 0.7}, "train_seconds": 1.0}
    args = script_args(tmp_path)
    for recipe, accepted in ((cpu.to_dict() | {"description": "said otherwise"}, True),
                             (cpu.replace(epochs=cpu.epochs + 1).to_dict(), False)):
        Path(args.out).write_text(json.dumps({"recipe": recipe, "seeds": [done]}))
        if accepted:
            cpu_seeds.seeds(args)
        else:
            with pytest.raises(cpu_seeds.BarlowError, match="another 'cpu' recipe"):
                cpu_seeds.seeds(args)
