"""bench/ablate.py: the study's statistics, and a smoke-scale dry run of the whole command that resumes."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT / "bench"))
import ablate  # noqa: E402


def test_the_difference_of_means_has_a_welch_interval_that_says_noise_only_when_it_spans_zero():
    d = ablate.difference([4.0, 5.0, 6.0], [1.0, 2.0, 3.0])  # se sqrt(1/3 + 1/3), 4 degrees of freedom
    assert d["mean"] == pytest.approx(3.0)
    assert d["high"] - d["mean"] == pytest.approx(2.776 * (2 / 3) ** 0.5, abs=1e-3)
    assert d["noise"] is False
    assert ablate.difference([1.0, 2.0, 3.0], [1.5, 2.0, 2.5])["noise"] is True
    assert ablate.difference([1.0], [2.0])["low"] is None  # one seed: no interval, not "no difference"


def test_each_variant_changes_what_it_says_in_the_recipe_it_is_compared_with():
    def changed(name):
        v = ablate.VARIANTS[name]
        return ablate.changes(ablate.variant_recipe("cpu", v.against, 3), ablate.variant_recipe("cpu", name, 3))

    assert changed("bug-flip") == {"augment.flip_prob": [0.5, 0.25]}
    assert changed("bug-blur") == {"augment.blur_sigma_min": [0.1, ablate.FROZEN_SIGMA],
                                   "augment.blur_sigma_max": [1.0, ablate.FROZEN_SIGMA]}
    assert set(changed("bugs-all")) == {"augment.crop_max", "augment.flip_prob", "augment.solarize_prob",
                                        "augment.blur_sigma_min", "augment.blur_sigma_max"}
    # the ImageNet stem's own features are already a flattened 2x2 map: probed as they are
    assert changed("imagenet-stem") == {"model.stem": ["cifar", "imagenet"], "augment.output_size": [16, None],
                                        "model.probe_grid": [4, 1]}
    assert changed("base") == {}
    assert all(changed(n) for n in ablate.VARIANTS if n != "base")  # no variant is the base in disguise


def test_a_continued_study_builds_its_variants_from_the_base_its_file_started_from():
    from barlow_lib import recipes

    started = recipes.get("cpu").replace(model={"probe_grid": 1}, epochs=24)  # the cpu recipe before the probe
    assert ablate.variant_recipe(started, "base", 3).model.probe_grid == 1
    assert ablate.changes(ablate.variant_recipe(started, "base", 3), ablate.variant_recipe(started, "imagenet-stem", 3)
                          ) == {"model.stem": ["cifar", "imagenet"], "augment.output_size": [16, None]}
    assert ablate.variant_recipe("cpu", "base", 3).model.probe_grid == 4  # a new study: today's recipe


@pytest.mark.integration  # seconds per twin: outside the unit suite
def test_every_variant_that_changes_the_network_or_its_inputs_builds_and_trains_a_step():
    from barlow_lib import models, train

    base = ablate.variant_recipe("cpu", "base", 3)
    shaped = [n for n in ablate.VARIANTS if any(k.startswith(("model.", "augment.output_size"))
                                                for k in ablate.changes(base, ablate.variant_recipe("cpu", n, 3)))]
    assert "imagenet-stem" in shaped and "projector-no-bn" in shaped and "no-flip" not in shaped
    for name in shaped:
        recipe = ablate.variant_recipe("cpu", name, 3).replace(batch_size=16)
        twin = models.build_twin(recipe, steps_per_epoch=1)
        batch = train.epoch_inputs(np.zeros((16, 32, 32, 3), np.uint8), 16, 0, 0)
        assert np.isfinite(float(twin.train_on_batch(batch, return_dict=True)["loss"])), name


@pytest.mark.integration  # a minute: outside the 5-minute unit suite, in CI's integration step
def test_a_smoke_study_writes_every_run_with_its_spread_and_a_second_call_trains_nothing(tmp_path):
    out, work = tmp_path / "ablations.json", tmp_path / "runs"
    cmd = [sys.executable, str(ROOT / "bench/ablate.py"), "--data", "synthetic", "--base", "smoke", "--limit", "128",
           "--epochs", "1", "--seeds", "0", "1", "--variants", "base", "no-flip", "--work", str(work),
           "--out", str(out)]
    subprocess.run(cmd, check=True, capture_output=True, cwd=tmp_path)
    result = json.loads(out.read_text())
    assert {(r["variant"], r["seed"]) for r in result["runs"]} == {
        (v, s) for v in ("base", "no-flip", "probe-projector") for s in (0, 1)}
    base = result["summary"]["base"]
    assert len(base["linear"]["values"]) == 2 and base["linear"]["sd"] is not None
    assert "difference" in result["summary"]["no-flip"]["knn"]
    assert all("random_init" in r for r in result["runs"] if r["variant"] == "base")
    assert result["split"] == "val-from-train" and "bench/ablate.py" in result["command"]
    stamps = {p: p.stat().st_mtime_ns for p in work.rglob("*") if p.is_file() and p.name != ".lock"}
    again = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=tmp_path)
    assert json.loads(out.read_text())["runs"] == result["runs"] and not again.stdout.strip()
    assert {p: p.stat().st_mtime_ns for p in work.rglob("*")
            if p.is_file() and p.name != ".lock"} == stamps  # nothing retrained
    other = subprocess.run(cmd[:cmd.index("--epochs") + 1] + ["2"] + cmd[cmd.index("--epochs") + 2:],
                           capture_output=True, text=True, cwd=tmp_path)
    assert other.returncode == 2 and other.stderr.startswith("error:") and "fix:" in other.stderr


def fake_study(no_crop=(0.30, 0.31, 0.29), no_flip=(0.46, 0.44, 0.45)):
    runs = [{"variant": v, "seed": s, "epochs": 3, "train_s": 100.0, "knn": x, "linear": x}
            for v, values in (("base", (0.45, 0.46, 0.44)), ("no-crop", no_crop), ("no-flip", no_flip))
            for s, x in enumerate(values)]
    for r in runs:
        if r["variant"] == "base":
            r["random_init"] = {"knn": 0.34, "linear": 0.40}
    return {"base": "cpu", "epochs": 3, "runs": runs, "base_recipe": {"model": {"probe_grid": 1}},
            "summary": ablate.summarise(runs, ablate.VARIANTS),
            "data": "test data.", "command": "python bench/ablate.py ...",
            "provenance": {"cpu": "a CPU", "cpu_count": 2, "commit": "abc"}}


def test_the_chapter_calls_a_change_real_or_noise_as_its_interval_says_and_sets_it_beside_the_literature():
    from barlow_lib.chapters import ablation

    study = fake_study()
    assert ablation.ordered(study) == ["no-crop", "no-flip"]  # the augmentations group, the base left out
    crop, flip = (ablation.sentence(study, n) for n in ("no-crop", "no-flip"))
    assert "a real loss" in crop and "this study agrees" in crop and "-15.0 points" in crop
    assert "noise at this budget" in flip and "Literature" not in flip
    assert "1 differ" in ablation.summary_line(study) and "1 do not" in ablation.summary_line(study)
    assert "40.0% and 34.0%" in ablation.describe(study)
    better = fake_study(no_crop=(0.60, 0.61, 0.59))
    assert "this study disagrees" in ablation.sentence(better, "no-crop")
    study["summary"]["base"]["what"] = "the base recipe as it stands"  # as the committed study's file says
    table = ablation.rows(study)
    assert [r["variant"] for r in table] == ["base", "no-crop", "no-flip"] and "worse" in table[1]["linear diff."]
    assert table[0]["what it changes"] == "the base recipe as it stood when the study began"
    study["runs"][1]["train_s"] = 250.0  # base seed 1 slowed by other work on the cores: the cost is the fastest
    assert ablation.rows(study)[0]["train s"] == 100
    assert "no-crop" in ablation.cite(study, "no-crop", "not-a-variant") and ablation.cite(None).startswith("*No")
    fig = ablation.forest(study)
    assert len(fig.axes[0].get_yticklabels()) == 2


def test_the_chapters_say_which_features_the_study_probed_as_its_base_recipe_saved_them():
    from barlow_lib.chapters import ablation

    study = fake_study()  # a study from before the recipe took its probe grid: the global pool
    assert "**Probe**: the backbone's global average pool" in ablation.describe(study)
    assert "linear probe on the backbone's global average pool" in ablation.cite(study, "no-crop")
    study["base_recipe"]["model"]["probe_grid"] = 4
    assert "linear probe on the backbone's last stage on a 4x4 grid" in ablation.cite(study, "no-crop")
