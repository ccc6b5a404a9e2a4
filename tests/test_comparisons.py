"""The tables that set results side by side: the published figures and the CPU sweep."""
import matplotlib
import pytest

matplotlib.use("Agg")

from barlow_lib import records  # noqa: E402
from barlow_lib.chapters import published, report, sweep  # noqa: E402


def test_every_published_figure_names_its_source_and_what_differs():
    for row in published.PUBLISHED:
        assert row["source"] and row["notes"] and row["network"]
        assert row["kNN"] is not None or row["linear"] is not None
        assert all(v is None or 0 < v < 1 for v in (row["kNN"], row["linear"]))
    # keras-io's log: 89 s for the first epoch, then 29 s each: the "78 minutes" the book quotes
    assert round(published.KERAS_IO_MINUTES) == 78


def test_a_record_row_says_its_split_and_its_images():
    rec = records.load("cpu")
    if rec is None:
        pytest.skip("no cpu record")
    row = published.record_row("cpu", rec)
    assert ("test split" in row["notes"]) == (rec["split"] == "test")
    assert row["linear"] == rec["evaluations"]["linear"]["accuracy"]
    assert published.rows()[0] == row  # the book's records come first


def test_a_record_row_names_the_layers_its_probe_read():
    def named(**model):
        return published.probed_layers(model)

    assert named() == "the backbone's global average pool"  # saved before the probe settings existed
    assert named(probe_grid=4) == "the backbone's last stage on a 4x4 grid"
    assert named(probe_grid=4, probe_stages=[3, 4]) == "the backbone's stages 3 and 4 on a 4x4 grid"


def run(variant, seed, knn, linear, epochs=5):
    return {"variant": variant, "seed": seed, "budget": "3 min", "epochs": epochs, "train_s": 180.0,
            "knn": knn, "linear": linear}


def fake_sweep(runs):
    return {"runs": runs, "variants": {"base": {"what": "as it stands"}, "wide": {"what": "wider"},
                                       "tiny": {"what": "smaller"}}}


def test_sweep_rows_put_the_base_first_and_the_best_next_and_mark_noise():
    result = fake_sweep([run("tiny", 0, 0.50, 0.55), run("base", 0, 0.60, 0.650), run("base", 1, 0.61, 0.655),
                         run("base", 2, 0.59, 0.645), run("wide", 0, 0.66, 0.70)])
    rows = sweep.rows(result, "3 min")
    assert [r["variant"] for r in rows] == ["base", "wide", "tiny"]
    assert rows[0]["seeds"] == 3 and "±" in rows[0]["linear"]
    assert rows[1]["linear vs base"] == "+5.0"  # far beyond the base's spread of 0.5 points
    noisy = sweep.rows(fake_sweep(result["runs"] + [run("tiny", 1, 0.60, 0.652)]), "3 min")
    tiny = next(r for r in noisy if r["variant"] == "tiny")
    assert tiny["linear"] == "60.1 ± 7.2"
    assert sweep.figure(result, "3 min") is not None


def test_a_difference_within_the_base_s_noise_is_called_noise():
    result = fake_sweep([run("base", s, 0.60, v) for s, v in enumerate((0.64, 0.66, 0.65))]
                        + [run("wide", 0, 0.60, 0.655)])
    wide = next(r for r in sweep.rows(result, "3 min") if r["variant"] == "wide")
    assert wide["linear vs base"] == "+0.5 (noise)"


def test_the_narrow_sweep_table_folds_each_difference_into_its_cell_and_keeps_every_figure():
    result = fake_sweep([run("base", s, 0.60, v) for s, v in enumerate((0.64, 0.66, 0.65))]
                        + [run("wide", 0, 0.70, 0.655)])
    wide_rows = sweep.rows(result, "3 min")
    narrow = sweep.narrow(wide_rows)
    base, wide = narrow
    assert list(wide) == ["variant", "epochs", "seeds", "train s", "kNN", "linear", "what it changes"]
    assert wide["linear"] == "65.5 (+0.5, noise vs base)" and wide["kNN"] == "70.0 (+10.0 vs base)"
    assert base["linear"] == wide_rows[0]["linear"]  # the base has no difference to fold
    assert "linear vs base" in wide_rows[1]  # the rows themselves are left as they were


def test_a_record_names_its_data_folder_not_the_training_machine_s_path():
    from barlow_lib.chapters import recorded

    rec = records.load("cpu")
    if rec is None:
        pytest.skip("no cpu record")
    fake = {**rec.data, "config": {**rec["config"], "data": "/home/someone/data/cifar10-jpeg"},
            "train_command": "barlow-twins train --recipe cpu --data /home/someone/data/cifar10-jpeg --out RUN_DIR"}
    assert recorded.data_name(fake) == "cifar10-jpeg"
    assert recorded.train_command(fake) == "barlow-twins train --recipe cpu --data cifar10-jpeg --out RUN_DIR"
    assert recorded.data_name({"config": {"data": "cifar10"}}) == "cifar10"


def test_a_result_file_s_options_in_prose_are_shown_as_code_not_as_dashes():
    text = report.markdown({"title": "t", "data": "each setting --repeats times, medians of --steps calls"})
    assert "`--repeats` times" in text and "`--steps` calls" in text


def test_a_variant_beside_the_base_uses_the_seeds_both_have_and_pairs_them():
    def run(variant, seed, knn, linear, rknn, rlin):
        return {"variant": variant, "seed": seed, "budget": "3 min", "epochs": 5, "train_s": 1.0, "knn": knn,
                "linear": linear, "random_init": {"knn": rknn, "linear": rlin}}

    result = {"variants": {"base": {"what": "b"}, "probe-2x2": {"what": "p"}},
              "runs": [run("base", 0, 0.40, 0.50, 0.30, 0.38), run("base", 1, 0.42, 0.52, 0.32, 0.36),
                       run("base", 2, 0.10, 0.10, 0.10, 0.10),  # a seed the variant lacks: left out
                       run("probe-2x2", 0, 0.44, 0.55, 0.28, 0.40), run("probe-2x2", 1, 0.45, 0.55, 0.30, 0.40)]}
    base, probe = sweep.against_base(result, "probe-2x2", "3 min", {"base": "global"})
    assert base["variant"] == "global" and probe["variant"] == "probe-2x2: p" and base["seeds"] == 2
    assert base["linear trained"] == "51.0 ± 1.4" and probe["kNN random init"] == "29.0 ± 1.4"
    assert sweep.paired_gains(result, "probe-2x2", "3 min") == {"knn": [4.0, 3.0], "linear": [5.0, 3.0]}


def test_a_wide_result_table_is_split_with_its_first_column_in_each_part():
    rows = [{"setting": "a", "x": 1, "y": 2, "z": 3}, {"setting": "b", "x": 4, "y": 5, "z": 6}]
    text = report.markdown({"title": "t", "rows": rows}, ((("x",), "first note"), (("y", "z"), "second note")))
    assert "| setting | x |" in text and "| setting | y | z |" in text and "| x | y |" not in text
    assert text.index("first note") < text.index("| setting | y | z |") < text.index("second note")



def test_two_variants_differ_by_their_means_and_a_difference_within_two_standard_errors_is_noise():
    def run(variant, seed, knn, linear):
        return {"variant": variant, "seed": seed, "budget": "3 min", "epochs": 5, "train_s": 1.0, "knn": knn,
                "linear": linear, "random_init": {"knn": knn - 0.1, "linear": linear - 0.2}}

    result = {"variants": {}, "runs": [run("base", 0, 0.4, 0.50),
                                        run("probe-2x2", 0, 0.40, 0.55), run("probe-2x2", 1, 0.44, 0.53),
                                        run("probe-4x4", 0, 0.41, 0.58), run("probe-4x4", 1, 0.45, 0.60)]}
    d = sweep.difference(result, "probe-4x4", "probe-2x2", "3 min")
    # linear: +5.0, standard error sqrt(2/2 + 2/2) = 1.4 points: beyond noise; kNN: +1.0, within 2 x 2.8
    assert d["linear"] == "+5.0 points (2 and 2 seeds)"
    assert d["knn"] == "+1.0 points (2 and 2 seeds) (noise)"
    assert "no spread" in sweep.difference(result, "probe-4x4", "base", "3 min")["linear"]
    result["runs"][-1]["random_init"]["linear"] = 0.38  # at random init 4x4 reads 38.0 and 2x2 34.0: +4.0 of +5.0
    assert sweep.difference(result, "probe-4x4", "probe-2x2", "3 min", "at random init")["linear"] == (
        "+4.0 points (2 and 2 seeds)")
    # what training added: 4x4 gains 20.0 and 22.0 over its untrained networks, 2x2 20.0 and 20.0: +1.0, within
    # two standard errors (sqrt(2/2 + 0/2) = 1.0 point)
    assert sweep.difference(result, "probe-4x4", "probe-2x2", "3 min", "learnt")["linear"] == (
        "+1.0 points (2 and 2 seeds) (noise)")
    result["runs"][1]["linear"], result["runs"][2]["linear"] = 0.5896, 0.59  # 2x2 58.98 to 4x4's 59.0: -0.02
    assert sweep.difference(result, "probe-2x2", "probe-4x4", "3 min")["linear"].startswith("+0.0 points")
    with pytest.raises(ValueError, match="measure"):
        sweep.difference(result, "probe-4x4", "probe-2x2", "3 min", "untrained")
    for r in result["runs"][1:3]:  # a variant whose networks were not probed untrained: said, not a nan
        del r["random_init"]
    assert sweep.difference(result, "probe-2x2", "probe-4x4", "3 min")["linear"].startswith("+0.0 points")  # trained
    untrained = sweep.difference(result, "probe-2x2", "probe-4x4", "3 min", "at random init")
    assert untrained == {k: "not measured at random init on probe-2x2" for k in ("knn", "linear")}


def test_accuracies_kept_as_fractions_are_shown_as_percentages_like_the_prose():
    result = {"title": "t", "rows": [{"lambda": 0.0051, "kNN": 0.362, "linear": 0.446, "rank": 0.5}],
              "summary": {"kNN at random init": 0.304, "kNN: b minus a": "+0.003333 (noise)", "recipe": "cpu"}}
    text = report.markdown(result)
    assert "| 0.0051 | 36.2% | 44.6% | 0.5 |" in text  # lambda and a non-accuracy column stay as they are
    assert "- **kNN at random init**: 30.4%" in text
    assert "- **kNN: b minus a**: +0.33 points (noise)" in text
    merged = report.merge_same([{"v": "a", "kNN": 0.585}, {"v": "a", "kNN": 0.5864}], ["v"])
    assert merged[0]["kNN"] == "58.5% to 58.6%"
    assert "| 8.2% |" in report.markdown({"title": "t", "rows": [{"MFU (bf16 dense peak)": 0.0822}]})


def test_what_training_added_is_each_record_minus_its_random_init_as_printed(monkeypatch):
    rec = {"evaluations": {"linear": {"accuracy": 0.7101}, "linear_random_init": {"accuracy": 0.4863},
                           "knn": {"accuracy": 0.6046}, "knn_random_init": {"accuracy": 0.3332}}}
    monkeypatch.setattr(records, "load", lambda name: rec if name == "cpu" else None)
    text = published.learnt()
    assert "`cpu` 71.0% linear against 48.6% at random init (+22.4 points), 60.5% kNN against 33.3% (+27.2)" in text
    assert "cpu-long" not in text
    monkeypatch.setattr(records, "load", lambda name: None)
    assert published.learnt() is None


def test_a_variant_s_gap_to_the_base_is_given_at_each_budget_and_says_how_it_moved():
    def at(budget, variant, seed, knn, linear, epochs):
        return dict(run(variant, seed, knn, linear, epochs), budget=budget)

    result = fake_sweep([at("3 min", "base", 0, 0.40, 0.50, 5), at("3 min", "base", 1, 0.42, 0.52, 5),
                         at("3 min", "wide", 0, 0.35, 0.45, 1), at("3 min", "tiny", 0, 0.30, 0.40, 9),
                         at("15 min", "base", 0, 0.50, 0.60, 25), at("15 min", "wide", 0, 0.52, 0.58, 9)])
    text = sweep.gap_by_budget(result, "wide")
    assert "at 3 min (1 epoch to the base's 5, 1 seed to the base's 2) -6.0 linear and -6.0 kNN" in text
    assert "at 15 min (9 epochs to the base's 25, 1 seed each) -2.0 linear and +2.0 kNN" in text
    assert text.endswith("from 3 min to 15 min the gap closed on linear and reversed on kNN.")
    only_short = sweep.gap_by_budget(result, "tiny")  # ran at one budget: no movement to tell
    assert "at 15 min" not in only_short and "the gap" not in only_short
    assert sweep.gap_by_budget(result, "missing") is None


def test_a_result_under_its_own_section_heading_gets_its_title_as_a_caption_not_a_second_heading():
    result = {"title": "GPU throughput of two recipes", "rows": [{"recipe": "a", "pairs/s": 1.0}]}
    assert report.markdown(result).startswith("### GPU throughput of two recipes\n")
    captioned = report.markdown(result, heading=False)
    assert captioned.startswith("**GPU throughput of two recipes**\n") and "#" not in captioned


def test_a_variant_across_budgets_is_listed_shortest_budget_first_with_its_spread():
    def at(budget, seed, linear, epochs):
        return dict(run("base", seed, linear - 0.1, linear, epochs), budget=budget)

    result = fake_sweep([at("15 min", 0, 0.70, 47), at("3 min", 0, 0.50, 5), at("3 min", 1, 0.52, 5),
                         at("8 min", 0, 0.65, 25)])
    rows = sweep.by_budget(result, "base")
    assert [(r["budget"], r["epochs"], r["seeds"]) for r in rows] == [("3 min", 5, 2), ("8 min", 25, 1),
                                                                        ("15 min", 47, 1)]
    assert rows[0]["linear"] == "51.0 ± 1.4" and rows[2]["kNN"] == "60.0"
    assert sweep.by_budget(result, "wide") == []


def test_only_variants_trained_at_several_budgets_are_followed_across_budgets():
    def at(budget, variant, **extra):
        return dict(run(variant, 0, 0.4, 0.5), budget=budget, **extra)

    result = fake_sweep([at("3 min", "base"), at("3 min", "wide"), at("3 min", "tiny"),
                         at("3 min", "probe", trained_as="base"), at("15 min", "base"), at("15 min", "wide"),
                         at("15 min", "probe", trained_as="base")])
    assert sweep.trained_at_several_budgets(result) == ["wide"]


def test_a_variant_trained_on_another_cpu_than_the_base_says_which_beside_its_time():
    xeon, amd = "Intel(R) Xeon(R) Processor", "AMD EPYC"
    result = fake_sweep([dict(run("base", s, 0.60, 0.65), cpu=xeon) for s in (0, 1)]
                        + [dict(run("wide", 0, 0.60, 0.66), cpu=amd, train_s=400.0),
                           dict(run("tiny", 0, 0.60, 0.64), cpu=xeon)])
    rows = {r["variant"]: r for r in sweep.rows(result, "3 min")}
    assert rows["wide"]["train s"] == "400 on AMD EPYC"  # the base's budget in epochs, another CPU's seconds
    assert rows["tiny"]["train s"] == 180 and rows["base"]["train s"] == 180
    assert sweep.trained_on(result) == f"{xeon} (3 rows), {amd} (1 row)"


def test_a_bar_inside_a_cell_or_a_header_stays_in_its_cell_and_the_table_renders():
    markdown_it = pytest.importorskip("markdown_it")  # the parser the book's pages go through (MyST)
    from barlow_lib import tables

    text = tables.markdown([{"variable": "stem", "LAMB: |step| / |w|": 0.0100, "note": "a|b"}], 4)
    html = markdown_it.MarkdownIt("commonmark").enable("table").render(text)
    assert "<table>" in html  # chapter 5 printed this table as one paragraph of bars
    assert html.count("<th>") == 3 and html.count("<td>") == 3
    assert "<th>LAMB: |step| / |w|</th>" in html and "<td>a|b</td>" in html


def test_the_keras_io_run_s_minutes_are_one_figure_in_the_time_table_and_the_published_table():
    from barlow_lib.chapters import published

    keras_io = next(r for r in report.timing_rows("results") if r["hardware"].startswith("a Colab GPU"))
    row = next(r for r in published.PUBLISHED if r["result"].startswith("keras-io"))
    assert keras_io["whole recipe"] == f"{row['minutes']:.0f} min"  # chapter 5 read 77, the results page 78


def test_a_chain_of_commands_is_listed_one_per_line_in_the_order_they_ran():
    assert report.commands("python a.py --x 1") == "Command: `python a.py --x 1`"
    listed = report.commands("python a.py --seeds 0 && python a.py --seeds 1 --record cpu")
    assert listed.splitlines()[2:] == ["1. `python a.py --seeds 0`", "2. `python a.py --seeds 1 --record cpu`"]
    assert "&&" not in listed and "in the order they ran" in listed
    assert "2. `python bench/x.py`" in report.markdown({"rows": [], "command": "python a.py && python bench/x.py"})
