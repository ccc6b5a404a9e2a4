"""The committed records the book plots: present in a clone, small, written by the command they name, honest.

A record missing from git renders chapters 5 and 6 as "no recorded run" sentences, so these tests read the
files a clean clone has (an ignore rule once hid results/runs/ entirely).
"""
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from barlow_lib import records

ROOT = Path(__file__).resolve().parents[1]
BOOK_RECORDS = ["cpu", "cpu-long"]  # the records the chapters show today


@pytest.mark.parametrize("name", BOOK_RECORDS)
def test_the_books_records_are_not_ignored_by_git(name):
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    for file in ("record.json", "arrays.npz"):
        ignored = subprocess.run(["git", "check-ignore", "-q", f"results/runs/{name}/{file}"], cwd=ROOT)
        assert ignored.returncode == 1, f"results/runs/{name}/{file} is ignored by git: clones would lack it"


def test_run_folders_stay_out_of_git_everywhere_but_results():
    """A committed run folder without its checkpoint (weights are ignored) is refused by the chapters' live run."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    for path in ("runs/x/history.json", "notebooks/runs/x/history.json", "notebooks/runs/x/.lock"):
        assert subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT).returncode == 0, f"{path} not ignored"


@pytest.mark.parametrize("name", BOOK_RECORDS)
def test_record_is_small_named_and_measured_against_random_init(name):
    rec = records.load(name)
    assert rec is not None, f"results/runs/{name} is missing"
    size = sum(p.stat().st_size for p in rec.path.iterdir())
    assert size < 1_000_000, f"{size} bytes"
    assert rec["command"].startswith("barlow-twins train") and "barlow-twins record" in rec["command"]
    prov = rec["provenance"]
    for stage, commit in (("training", prov["run"]["start"]["commit"]), ("record", prov["record"]["commit"])):
        assert commit and "dirty" not in commit and len(commit) >= 12, f"{stage} at commit {commit!r}"
    history = rec["history"]
    assert history["complete"] and history["epoch"] == list(range(1, rec["config"]["recipe"]["epochs"] + 1))
    assert all(len(history[k]) == len(history["epoch"]) for k in ("loss", "lr", "seconds", "knn_accuracy"))
    ev = rec["evaluations"]
    assert {v["split"] for v in ev.values()} == {rec["split"]}
    assert ev["knn"]["accuracy"] - ev["knn_random_init"]["accuracy"] >= 0.10
    assert ev["linear"]["accuracy"] - ev["linear_random_init"]["accuracy"] >= 0.10
    eff = rec["label_efficiency"]
    assert eff["fractions"] == [0.01, 0.1, 1.0]
    assert all(len(eff[k]) == 3 for k in ("pretrained_linear", "random_init_linear"))
    assert len(eff["supervised"]) in (0, 3)  # 0: recorded with --no-supervised
    assert not any(k.startswith(("weights", "kernel")) for k in rec.arrays)
    assert rec.arrays["c_corner"].shape[0] == len(rec["diagnostics"]["epochs"]) >= 2
    nb = rec["neighbours"]
    assert len(nb["trained_hits"]) == len(nb["query_indices"])
    assert nb["trained_same_class"] == pytest.approx(np.mean(nb["trained_hits"]))
    json.dumps(rec.data)  # plain JSON all the way down


@pytest.mark.parametrize("name", BOOK_RECORDS)
def test_a_book_record_is_of_its_recipe_as_the_library_defines_it_today(name):
    # A recipe changed without training its record again would show figures of another recipe under its name.
    from barlow_lib import recipes, runs

    config = records.load(name)["config"]
    today = dict(config, recipe=recipes.get(config["recipe"]["name"]).to_dict())
    assert runs.differences(config, today) == [], "train the record again: its recipe changed"
