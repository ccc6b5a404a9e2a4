"""bench/cpu_sweep.py's bookkeeping: equal budgets, shared timings, per-budget summaries."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "bench"))
import cpu_sweep  # noqa: E402


def test_a_variant_gets_the_epochs_its_budget_buys_at_each_view_side():
    r = cpu_sweep.variant_recipe("progressive-24").replace(batch_size=100)  # from 3/4 of the epochs: 24 px
    rates = {16: 1000.0, 24: 500.0}  # pairs/s: an epoch of 1,000 pairs costs 1 s at 16 px, 2 s at 24 px
    # 4 epochs: 3 x 1 s + 1 x 2 s = 5 s (x 1.05); 5 epochs: 3 x 1 + 2 x 2 = 7 s
    assert cpu_sweep.epochs_for(5.3, rates, r, n_train=1000) == 4
    assert cpu_sweep.epochs_for(7.4, rates, r, n_train=1000) == 5
    assert cpu_sweep.epochs_for(0.1, rates, r, n_train=1000) == 1  # at least one epoch


def test_variants_that_change_neither_network_nor_batch_nor_views_share_a_timing():
    sig = cpu_sweep.cost_signature
    assert sig("base") == sig("lambda-x2") == sig("lr-x2") == sig("crop-0.35") == sig("lars") == sig("ema-0.99")
    assert len({sig(n) for n in ("base", "width-24", "batch-128", "view-24", "progressive-24",
                                 "multicrop-2x8")}) == 6
    calibration = {"base @ 3 min": {"pairs_per_second": {"16 px": 1.0}, "epochs": 5}}
    assert cpu_sweep.calibrated("lambda-x2", "3 min", 3, calibration, ds=None)["epochs"] == 5
    assert calibration["lambda-x2 @ 3 min"] == calibration["base @ 3 min"]


def test_a_variant_timed_on_a_slower_day_is_scaled_by_the_base_timed_beside_it(monkeypatch):
    # The base was timed at 1,000 pairs/s; today the same cores run it at 200 and the variant at 140: at the
    # base's day the variant costs 1/0.7 of the base, so it gets about 0.7 of the base's epochs, not 0.14.
    from types import SimpleNamespace

    speed = {cpu_sweep.variant_recipe("base").model.width: 200.0, 24: 140.0}
    monkeypatch.setattr(cpu_sweep.train, "prepare", lambda recipe, ds: recipe)
    monkeypatch.setattr(cpu_sweep, "calibrate", lambda recipe, ds: speed[recipe.model.width])
    ds = SimpleNamespace(x_train=range(10_000))
    calibration = {"base @ 1 min": {"pairs_per_second": {"16 px": 1000.0}, "epochs": 5}}
    timed = cpu_sweep.calibrated("width-24", "1 min", 1, calibration, ds)
    assert timed["scaled_to_base_day"] == 5.0 and timed["base_pairs_per_second_beside"] == 200.0
    assert timed["pairs_per_second"] == {"16 px": 140.0}  # what was measured, as it was
    assert timed["epochs"] == 4  # 60 s at 700 pairs/s, 10,000 pairs (x 1.05) an epoch: 4 epochs, not 1


def test_the_summary_keeps_budgets_apart_and_gives_a_spread_only_for_several_seeds():
    runs = [{"variant": "base", "budget": b, "seed": s, "epochs": 5, "train_s": 1.0, "knn": k, "linear": k}
            for b, s, k in (("3 min", 0, 0.40), ("3 min", 1, 0.42), ("15 min", 0, 0.60))]
    summary = cpu_sweep.summarise(runs)
    assert set(summary) == {"base @ 3 min", "base @ 15 min"}
    assert summary["base @ 3 min"]["linear"]["mean"] == pytest.approx(0.41)
    assert summary["base @ 3 min"]["linear"]["sd"] == pytest.approx(0.0141, abs=1e-4)
    assert summary["base @ 15 min"]["linear"]["sd"] is None


def test_a_probe_only_variant_is_judged_on_the_base_run_and_shares_its_epochs():
    # It changes what is measured, not what is trained: same folder, same timing, no second training.
    assert cpu_sweep.trained_as("probe-2x2") == "base" and cpu_sweep.trained_as("lambda-x2") == "lambda-x2"
    assert cpu_sweep.trained_as("view-24-probe-4x4") == "view-24"  # a changed training keeps its own folder
    assert cpu_sweep.trained_as("width-24-probe-4x4") == "width-24"
    assert cpu_sweep.variant_recipe("probe-2x2").model.probe_grid == 2
    assert cpu_sweep.cost_signature("probe-2x2") == cpu_sweep.cost_signature("base")
    calibration = {"base @ 3 min": {"pairs_per_second": {"16 px": 1.0}, "epochs": 5}}
    assert cpu_sweep.calibrated("probe-2x2", "3 min", 3, calibration, ds=None)["epochs"] == 5


def test_a_continued_sweep_keeps_the_base_its_file_started_from():
    # The cpu recipe took the 2x2 probe, then the 4x4, after the sweep chose them: the file's base keeps the
    # global pool.
    from barlow_lib import recipes

    started = recipes.get("cpu").replace(model={"probe_grid": 1}, epochs=24)
    assert cpu_sweep.variant_recipe("base", 5, started).model.probe_grid == 1
    assert cpu_sweep.variant_recipe("probe-2x2", 5, started).model.probe_grid == 2
    assert cpu_sweep.trained_as("probe-2x2", started) == "base"
    for name in ("probe-stage-3", "probe-stages-3-4"):  # another layer probed: the base's folder, probed again
        assert cpu_sweep.trained_as(name, started) == "base"
        assert cpu_sweep.cost_signature(name, started) == cpu_sweep.cost_signature("base", started)
    assert cpu_sweep.variant_recipe("probe-stages-3-4", 5, started).model.probe_stages == (3, 4)
    assert cpu_sweep.variant_recipe("base", 5).model.probe_grid == recipes.get("cpu").model.probe_grid


def test_a_variant_timed_alone_into_other_epochs_than_its_equal_cost_peer_is_measured_again():
    calibration = {"base @ 3 min": {"pairs_per_second": {"16 px": 1320.9}, "epochs": 5},
                   "lambda-x2 @ 3 min": {"pairs_per_second": {"16 px": 1574.8}, "epochs": 6},
                   "lambda-x0.5 @ 3 min": {"pairs_per_second": {"16 px": 1415.9}, "epochs": 5},
                   "width-24 @ 3 min": {"pairs_per_second": {"16 px": 765.7}, "epochs": 2}}
    unequal = cpu_sweep.unequal_budget
    assert unequal("lambda-x2", "3 min", calibration)  # an epoch more than the base, at the same cost
    assert not unequal("lambda-x0.5", "3 min", calibration)  # timed alone, but into the same epochs
    assert not unequal("base", "3 min", calibration) and not unequal("width-24", "3 min", calibration)
    assert not unequal("lambda-x2", "15 min", calibration)  # never timed at that budget


def test_one_slow_timing_of_the_base_beside_a_variant_does_not_buy_the_variant_epochs(monkeypatch):
    # The base trains at 1,000 pairs/s, the variant at 500: half the epochs. One of the base's timings beside
    # the variant reads a third slow (as one did beside width-32): the median of the rounds ignores it, where
    # a single timing would have scaled the variant up by 1.5 and given it three quarters of the base's epochs.
    from types import SimpleNamespace

    base_width = cpu_sweep.variant_recipe("base").model.width
    timings = {base_width: iter([667.0, 1000.0, 1000.0]), 24: iter([500.0, 500.0, 500.0])}
    monkeypatch.setattr(cpu_sweep.train, "prepare", lambda recipe, ds: recipe)
    monkeypatch.setattr(cpu_sweep, "calibrate", lambda recipe, ds: next(timings[recipe.model.width]))
    ds = SimpleNamespace(x_train=range(10_000))
    calibration = {"base @ 1 min": {"pairs_per_second": {"16 px": 1000.0}, "epochs": 5}}
    timed = cpu_sweep.calibrated("width-24", "1 min", 1, calibration, ds)
    assert timed["rounds"] == cpu_sweep.ROUNDS == 3
    assert timed["base_pairs_per_second_beside"] == 1000.0 and timed["scaled_to_base_day"] == 1.0
    assert timed["epochs"] == 2  # 60 s at 500 pairs/s, 10,000 pairs (x 1.05) an epoch: 2 epochs, not 4


def test_a_share_of_the_budget_trains_that_share_of_the_base_epochs_in_its_own_folder():
    # What the rest of the budget buys: the base's network and speed, half its epochs, a run of its own
    # (not the base's folder, not the base's epochs: the equal-budget check must not undo it).
    calibration = {"base @ 15 min": {"pairs_per_second": {"16 px": 2000.0}, "epochs": 45}}
    half = cpu_sweep.calibrated("budget-x0.5", "15 min", 15, calibration, ds=None)
    assert half["epochs"] == 22 and calibration["base @ 15 min"]["epochs"] == 45
    assert cpu_sweep.trained_as("budget-x0.5") == "budget-x0.5"
    assert cpu_sweep.trained_as("budget-x0.5-probe-4x4") == "budget-x0.5"  # probed again, not trained again
    assert cpu_sweep.cost_signature("budget-x0.5") != cpu_sweep.cost_signature("base")
    assert not cpu_sweep.unequal_budget("budget-x0.5", "15 min", calibration)
    assert cpu_sweep.variant_recipe("budget-x0.5", half["epochs"]).epochs == 22


def test_runs_from_before_runs_named_their_cpu_take_the_cpu_of_the_machine_that_wrote_the_file():
    old = {"provenance": {"cpu": "Intel(R) Xeon(R) Processor"}, "runs": [{"variant": "base"}, {"variant": "lars"}]}
    assert [r["cpu"] for r in cpu_sweep.runs_with_cpu(old)] == ["Intel(R) Xeon(R) Processor"] * 2
    extended = {"provenance": {"cpu": "AMD EPYC"}, "runs": [{"variant": "base", "cpu": "Intel(R) Xeon(R) Processor"},
                                                            {"variant": "width-24", "cpu": "AMD EPYC"}]}
    assert [r["cpu"] for r in cpu_sweep.runs_with_cpu(extended)] == ["Intel(R) Xeon(R) Processor", "AMD EPYC"]
    assert cpu_sweep.runs_with_cpu({}) == []


def test_a_sweep_killed_in_its_first_run_has_kept_its_timings_so_it_resumes_at_the_same_epochs(
        monkeypatch, tmp_path):
    # A resumed run must train the epochs its folder was started with: timed again, the same variant got 23
    # epochs where its folder held 26, and the folder was refused as "a run with other settings".
    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # the first run's training, interrupted

    out = tmp_path / "sweep.json"
    monkeypatch.setattr(cpu_sweep, "calibrate", lambda recipe, ds: 5000.0)
    monkeypatch.setattr(cpu_sweep.train, "train", killed)
    monkeypatch.setattr(sys, "argv", ["cpu_sweep.py", "--data", "cifar10-sample", "--limit", "600", "--minutes",
                                      "1", "--variants", "base", "width-24", "--work", str(tmp_path / "runs"),
                                      "--out", str(out)])
    with pytest.raises(KeyboardInterrupt):
        cpu_sweep.main()
    kept = cpu_sweep.read_json(out)
    assert set(kept["calibration"]) == {"base @ 1 min", "width-24 @ 1 min"} and kept["runs"] == []


def test_a_run_folder_the_sweep_cannot_resume_ends_in_error_and_fix_lines_not_a_traceback(
        monkeypatch, tmp_path, capsys):
    def refused(*args, **kwargs):
        raise cpu_sweep.train.BarlowError("sweep-runs/1min/base-s0 already holds a run with other settings.",
                                          "train into a new folder, or repeat the original options to resume.")

    monkeypatch.setattr(cpu_sweep, "calibrate", lambda recipe, ds: 5000.0)
    monkeypatch.setattr(cpu_sweep.train, "train", refused)
    monkeypatch.setattr(sys, "argv", ["cpu_sweep.py", "--data", "cifar10-sample", "--limit", "600", "--minutes",
                                      "1", "--variants", "base", "--work", str(tmp_path / "runs"),
                                      "--out", str(tmp_path / "sweep.json")])
    with pytest.raises(SystemExit) as ended:
        cpu_sweep.main()
    err = capsys.readouterr().err
    assert ended.value.code == 2 and err.startswith("error:") and "fix:" in err and "Traceback" not in err


def test_a_finished_sweep_run_again_leaves_its_file_as_it_was(monkeypatch, tmp_path):
    def trained_again(*args, **kwargs):
        raise AssertionError("a finished run was trained again")

    out = tmp_path / "sweep.json"
    calibration = {"base @ 1 min": {"pairs_per_second": {"16 px": 5000.0}, "epochs": 3}}
    runs = [{"variant": "base", "seed": 0, "budget": "1 min", "epochs": 3, "train_s": 50.0, "knn": 0.4, "linear": 0.5,
             "cpu": "Some CPU"}]
    cpu_sweep.write_json(out, {"base_recipe": cpu_sweep.recipes.get("cpu").to_dict(), "calibration": calibration,
                               "runs": runs, "command": "python bench/cpu_sweep.py --minutes 1",
                               "provenance": {"cpu": "Some CPU"}})
    before = out.read_bytes()
    monkeypatch.setattr(cpu_sweep.train, "train", trained_again)
    monkeypatch.setattr(sys, "argv", ["cpu_sweep.py", "--data", "cifar10-sample", "--limit", "600", "--minutes",
                                      "1", "--variants", "base", "--work", str(tmp_path / "runs"), "--out", str(out)])
    cpu_sweep.main()
    assert out.read_bytes() == before
