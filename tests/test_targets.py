"""The results page's targets: each bound read against the file that measured it, never guessed."""
import json

import pytest

from barlow_lib import records
from barlow_lib.chapters import targets


class FakeRecord(records.Record):
    def __init__(self, data):
        self.data, self.arrays, self.name = data, {}, data["recipe"]


def _rec(recipe, split, linear, knn, seconds):
    return FakeRecord({"recipe": recipe, "split": split, "train_seconds": seconds,
                       "evaluations": {"linear": {"accuracy": linear}, "knn": {"accuracy": knn}}})


def test_each_target_is_read_from_its_own_file_and_judged_on_the_right_side_of_its_bound(tmp_path, monkeypatch):
    recs = {"cpu": _rec("cpu", "test", 0.701, 0.619, 899.0), "cpu-val": _rec("cpu-long", "val-from-train", 0.9,
                                                                              0.9, 60.0)}
    monkeypatch.setattr(records, "available", lambda: list(recs))
    monkeypatch.setattr(records, "load", recs.get)
    (tmp_path / targets.PROFILE).write_text(json.dumps({"summary": {  # as bench/cpu_profile.py names them
        "the library's default threads (intra-op 1, inter-op 2): the training path as % of the float32 roof": 65.0,
        "fastest: TensorFlow's default threads: the training path as % of the float32 roof": 70.0}}))
    rows = {(r["recipe"], r["target"]): r for r in targets.rows(tmp_path)}
    cpu = {t: r for (recipe, t), r in rows.items() if recipe == "cpu"}
    assert cpu["linear probe, test split"]["reached"] == "yes"  # 70.1% >= 70%
    assert cpu["kNN, test split"]["reached"] == "no"  # 61.9% < 62%
    assert cpu["training time on 2 CPU cores"]["reached"] == "yes"  # 899 s <= 15 min: an upper bound
    assert cpu["training time on 2 CPU cores"]["bound"] == "at most 15.0 min"
    profile = cpu["the training path's GFLOP/s as a share of the float32 matmul roof"]
    assert profile["reached"] == "yes" and profile["source"] == f"results/{targets.PROFILE}"
    assert profile["measured"] == "65.0%"  # the library's threads, what training runs, not the fastest setting
    # a validation-split record is not a test-split figure: cpu-long stays unmeasured
    long = [r for (recipe, _), r in rows.items() if recipe == "cpu-long"]
    assert long and all(r["measured"] == "not measured yet" and r["reached"] == "" for r in long)


def test_without_a_profile_the_roof_target_says_it_was_not_measured(tmp_path, monkeypatch):
    monkeypatch.setattr(records, "available", lambda: [])
    rows = targets.rows(tmp_path)
    assert all(r["measured"] == "not measured yet" for r in rows)


def test_an_accuracy_target_gives_the_recipes_mean_over_seeds_beside_the_records_one_seed(tmp_path, monkeypatch):
    recs = {"cpu": _rec("cpu", "test", 0.701, 0.619, 899.0)}
    monkeypatch.setattr(records, "available", lambda: list(recs))
    monkeypatch.setattr(records, "load", recs.get)
    (tmp_path / "cpu-seeds.json").write_text(json.dumps({"seeds": [{}, {}, {}], "summary": {
        "linear": {"mean": 69.6, "sd": 0.5}, "knn": {"mean": 62.3, "sd": 0.4}}}))
    rows = {r["target"]: r for r in targets.rows(tmp_path) if r["recipe"] == "cpu"}
    linear, knn = rows["linear probe, test split"], rows["kNN, test split"]
    assert linear["reached"] == "yes" and linear["over seeds"] == "69.6 ± 0.5% (3 seeds): the mean misses it"
    assert knn["reached"] == "no" and knn["over seeds"] == "62.3 ± 0.4% (3 seeds): the mean reaches it"
    assert "over seeds" not in rows["training time on 2 CPU cores"]


def test_the_layer_bound_says_whether_the_layers_alone_could_reach_the_roof_target(tmp_path):
    assert targets.layer_bound(tmp_path) is None  # no file: nothing claimed

    def bound(path, layers_ms, path_ms=100.0):
        (tmp_path / targets.LAYERS).write_text(json.dumps({"summary": {
            "layers alone: % of fp32 roof (the bound)": 61.2, "training path: % of fp32 roof": path,
            "layers alone: ms per step": layers_ms, "training path: ms per step": path_ms,
            "share of the step's FLOPs in layers under half the roof": 0.25}}))
        return targets.layer_bound(tmp_path)

    # 50% of the roof in 100 ms; layers alone 80 ms: the path's FLOPs in 80 ms are 62.5% of the roof
    below = bound(50.0, 80.0)
    assert "61.2% of the float32 roof" in below and "reaches 50.0%" in below and "25% of their FLOPs" in below
    assert "reach 62.5% of the roof" in below and "would stay under the 65% target" in below
    # layers alone 60 ms: 83.3% were the rest free; 65% needs a 76.9 ms step, so the rest must fall to 16.9 ms
    above = bound(50.0, 60.0)
    assert "reach 83.3% of the roof" in above and "40.0 ms, 40% of the step" in above
    assert "fall to 16.9 ms, 22% of a 76.9 ms step" in above


def test_the_longer_schedule_sentence_reads_the_two_records(monkeypatch):
    def rec(recipe, split, linear, knn, monitor):  # monitor: {epoch: kNN}, one entry per epoch
        data = _rec(recipe, split, linear, knn, 60.0).data
        data["history"] = {"epoch": list(monitor), "knn_accuracy": list(monitor.values())}
        return FakeRecord(data)

    short = rec("cpu", "test", 0.710, 0.605, {e: None for e in range(1, 26)})
    long_ = rec("cpu-long", "test", 0.732, 0.662,
                {e: {10: 0.50, 80: 0.60, 160: 0.63}.get(e) for e in range(1, 161)})
    monkeypatch.setattr(records, "load", {"cpu": short, "cpu-long": long_}.get)
    text = targets.longer_schedule()
    assert "6.4 times the epochs (160 against 25)" in text
    assert "gains 2.2 points of linear accuracy (73.2% against 71.0%) and 5.7 of kNN" in text
    assert "the 80% linear target is 6.8 points further" in text
    assert "rose 10.0 points from epoch 10 to epoch 80 and 3.0 from there to epoch 160" in text
    long_.data["split"] = "val-from-train"  # a record on a validation split compares with no test figure
    assert targets.longer_schedule() is None


@pytest.mark.integration  # builds the cpu twin and a ResNet-18: seconds, outside the unit suite
def test_the_published_cost_sets_resnet18s_arithmetic_against_the_cpu_long_record(monkeypatch):
    from barlow_lib import recipes

    data = _rec("cpu-long", "test", 0.732, 0.662, 5137.5).data
    data.update(config={"recipe": recipes.get("cpu-long").to_dict()}, n_train=50_000,
                history={"epoch": list(range(1, 161))}, cpu_float32_matmul_roof_gflops=320.7)
    monkeypatch.setattr(records, "load", {"cpu-long": FakeRecord(data)}.get)
    text = targets.published_cost()
    # cpu-long: 0.0627 GFLOP a pair x 50,000 x 160 = 501 PFLOP in 5,137.5 s (98 GFLOP/s); lightly's 200 epochs
    # of ResNet-18: 6 x 1.111 GFLOP x 50,000 x 200 = 66.6 PFLOP... x 1000, 133 times as much
    assert "at least 133 times (lightly benchmark: 200 epochs, 84.2% kNN)" in text
    assert "665 times (solo-learn: 1000 epochs, 92.1% linear)" in text
    assert "Barlow-Twins-TF" not in text and "keras-io" not in text  # below the target, or no network to count
    assert "(98 GFLOP/s)" in text and "about 190 hours" in text and "(321 GFLOP/s)" in text and "for 58 hours." in text
    data["train_seconds"] = 5137.5 / 2  # twice the rate: half the hours
    assert "about 95 hours" in targets.published_cost()
    from barlow_lib.chapters import published
    wider = dict(published.PUBLISHED[-1], model=dict(published.RESNET18, width=128))  # another network above 80%
    monkeypatch.setattr(published, "PUBLISHED", published.PUBLISHED + (wider,))
    with pytest.raises(ValueError, match="several"):  # never one network's name and count for another's figure
        targets.published_cost()
    data["split"] = "val-from-train"  # no test-split record: nothing claimed
    assert targets.published_cost() is None


def test_the_onednn_sentence_sets_the_librarys_path_beside_onednn_off(tmp_path):
    assert targets.onednn_gain(tmp_path) is None  # no file: nothing claimed
    rows = [{"setting": "TensorFlow's default threads", "train path pairs/s": 900.0, "train path % of fp32 roof": 40.0},
            {"setting": "the library's default threads", "train path pairs/s": 1100.0,
             "train path % of fp32 roof": 48.2},
            {"setting": "oneDNN off", "train path pairs/s": 550.0, "train path % of fp32 roof": 24.1}]
    roof = {"float32 matmul roof (GFLOP/s, 2048^3, TensorFlow's default threads)": 157.8}
    (tmp_path / targets.AVX2_PROFILE).write_text(json.dumps({"rows": rows, "provenance": {"cpu": "Some CPU"},
                                                             "summary": roof}))
    text = targets.onednn_gain(tmp_path)
    assert "1,100 pairs/s" in text and "550 at the same threads with oneDNN off" in text
    assert "2.0 times as fast" in text
    assert "48.2% of that CPU's float32 roof (158 GFLOP/s)." in text and "Some CPU" in text
    assert "first profile" not in text  # nothing to set it beside
    (tmp_path / targets.PROFILE).write_text(json.dumps({"rows": [dict(rows[1], **{"train path pairs/s": 2200.0})],
                                                        "provenance": {"cpu": "Fast CPU", "cpu_count": 2}}))
    text = targets.onednn_gain(tmp_path)
    assert "(Fast CPU, 2 cores) ran the same path at 2,200 pairs/s" in text
    assert "a training that takes 15 minutes there takes about 30 on the AVX2" in text  # the cpu target's 15
    assert "TensorFlow's own threads ran it at 900 pairs/s, 0.82 times the library's." in text  # one process each
    assert "at TensorFlow's" not in text  # slower: no time at its threads

    def profile(tf_each, ours_each):
        rows[0].update({"train path pairs/s": max(tf_each), "train path pairs/s, each process": tf_each})
        rows[1]["train path pairs/s, each process"] = ours_each
        (tmp_path / targets.AVX2_PROFILE).write_text(json.dumps({"rows": rows, "provenance": {"cpu": "Some CPU"},
                                                                 "summary": roof}))
        return targets.onednn_gain(tmp_path)

    text = profile([1320, 1000], [1100, 1050])  # faster at best, but its processes span the library's
    assert "1,320 pairs/s, 1.20 times the library's (the fastest of 2 processes each)" in text
    assert "overlap (1,050 to 1,100 and 1,000 to 1,320 pairs/s)" in text and "the difference is noise" in text
    assert "at TensorFlow's" not in text and "worth timing" not in text
    text = profile([1320, 1300], [1100, 1050])  # every process faster: named, with its time
    assert "faster in every process (1,050 to 1,100 and 1,300 to 1,320 pairs/s)" in text and "worth timing" in text
    assert "about 30 on the AVX2-only CPU at the library's threads, 25 at TensorFlow's." in text
    text = profile([900, 880], [1100, 1050])
    assert "slower in every process" in text and "at TensorFlow's" not in text
    (tmp_path / targets.AVX2_PROFILE).write_text(json.dumps({"rows": rows[:2], "provenance": {}, "summary": {}}))
    assert targets.onednn_gain(tmp_path) is None  # a profile without the oneDNN-off row claims nothing
