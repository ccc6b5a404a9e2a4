"""Recipes refuse settings that would be silently ignored; the library refuses backends it does not support."""
import json
import subprocess
import sys

import pytest

from barlow_lib import recipes
from barlow_lib.errors import BarlowError
from test_cli import ENV, assert_clean_error

TYPOS = [({"schedule": "Cosine"}, "`schedule` 'Cosine'"), ({"schedule": "linear"}, "`schedule`"),
         ({"model": {"precision": "bf16"}}, "`precision` 'bf16'"), ({"model": {"precision": "float16"}}, "`precision`"),
         ({"model": {"stem": "CIFAR"}}, "`stem`"), ({"model": {"depth": 50}}, "`depth` 50"),
         ({"jit_compile": "yes"}, "`jit_compile`"), ({"jit_compile": 1}, "`jit_compile`"),
         ({"optimizer": "LARS"}, "`optimizer` 'LARS'"), ({"optimizer": "sgd"}, "`optimizer`")]


@pytest.mark.parametrize("changes,fragment", TYPOS, ids=[str(c) for c, _ in TYPOS])
def test_free_text_settings_outside_their_choices_are_refused(changes, fragment):
    with pytest.raises(BarlowError, match="not one of the choices") as err:
        recipes.get("cpu").replace(**changes).check()
    assert fragment in err.value.problem and "use one of:" in err.value.fix


@pytest.mark.parametrize("momentum", [1, 1.5, -0.1, True, "0.99", float("nan")])
def test_a_moving_average_momentum_outside_0_to_1_is_refused(momentum):
    with pytest.raises(BarlowError, match="`ema_momentum`"):
        recipes.get("cpu").replace(ema_momentum=momentum).check()
    assert recipes.get("cpu").replace(ema_momentum=0.99).check()


def test_every_shipped_recipe_passes_its_own_check():
    for name in recipes.RECIPES:
        assert recipes.get(name).check() is recipes.get(name)


def test_the_command_lines_precision_choices_are_the_recipes():
    from barlow_lib.cli import build_parser

    train = build_parser()._subparsers._group_actions[0].choices["train"]
    (precision,) = [a for a in train._actions if "--precision" in a.option_strings]
    assert set(precision.choices) <= set(recipes.CHOICES["model.precision"])


def run_python(code: str, backend: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**ENV, "KERAS_BACKEND": backend})


@pytest.mark.parametrize("backend", ["torch", "numpy", "Tensorflow"])
def test_an_unsupported_keras_backend_is_refused_before_keras_loads(backend):
    from barlow_lib import backends

    assert backend not in backends.SUPPORTED
    cli_proc = subprocess.run([sys.executable, "-m", "barlow_lib", "info", "--recipe", "smoke"], capture_output=True,
                              text=True, timeout=300, env={**ENV, "KERAS_BACKEND": backend})
    assert_clean_error(cli_proc, f"Keras backend '{backend}'", "tensorflow and jax", "KERAS_BACKEND=tensorflow")
    lib = run_python("import sys\ntry:\n    from barlow_lib import train\nexcept Exception as e:\n"
                     "    print(type(e).__name__, e)\nprint('keras' in sys.modules)", backend)
    assert lib.stdout.splitlines() == [lib.stdout.splitlines()[0], "False"], lib.stderr[-2000:]
    assert lib.stdout.startswith("BarlowError Keras backend"), lib.stdout


def test_the_backend_is_read_as_keras_reads_it(tmp_path, monkeypatch):
    from barlow_lib import backends

    monkeypatch.delitem(sys.modules, "keras")  # selected() then reads the settings, not the loaded module
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert backends.selected() == "tensorflow"  # no keras.json: Keras' default
    (tmp_path / "keras.json").write_text('{"backend": "jax"}')
    assert backends.selected() == "jax"
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    assert backends.selected() == "torch"
    with pytest.raises(BarlowError, match="'torch'"):
        backends.require()


def test_a_projector_without_batch_norm_has_none_and_the_default_has_one_per_hidden_layer():
    from barlow_lib import models

    spec = recipes.get("smoke").model
    kinds = lambda m: [type(layer).__name__ for layer in m.layers]  # noqa: E731
    assert kinds(models.build_projector(16, spec)).count("BatchNormalization") == len(spec.projector) - 1
    plain = models.build_projector(16, spec.replace(projector_bn=False))
    assert "BatchNormalization" not in kinds(plain) and kinds(plain).count("Dense") == len(spec.projector)


def test_a_run_folder_saved_before_a_setting_existed_matches_the_same_recipe_today():
    # A folder's recipe lacks the fields added since it was written; resuming it must not call that a change.
    from barlow_lib import runs

    new = {"recipe": recipes.get("smoke").to_dict(), "seed": 0, "data_seed": 0}
    old = {"recipe": {k: v for k, v in new["recipe"].items() if k != "view_schedule"}, "seed": 0, "data_seed": 0}
    old["recipe"]["model"] = {k: v for k, v in old["recipe"]["model"].items()
                              if k not in ("projector_bn", "probe_grid", "probe_stages")}
    assert runs.differences(old, new) == []
    changed = dict(old, recipe=dict(old["recipe"], lambd=0.5))
    assert runs.differences(changed, new) == ["recipe"]
    reworded = dict(old, recipe=dict(old["recipe"], description="an older library's wording"))
    assert runs.differences(reworded, new) == []  # prose is not a setting: the run still resumes


@pytest.mark.parametrize("grid", [0, -1, 1.5, True, "2"])
def test_a_probe_grid_that_is_not_a_whole_number_from_1_is_refused(grid):
    with pytest.raises(BarlowError, match="`probe_grid`") as err:
        recipes.get("smoke").replace(model={"probe_grid": grid}).check()
    assert "use `probe_grid` 1" in err.value.fix


def test_a_probe_grid_above_1_with_the_imagenet_stem_is_refused():
    # Its features are already a flattened 2x2 map; a grid of 1 (its own features) stays allowed.
    keras_io = recipes.get("keras-io")
    with pytest.raises(BarlowError, match="CIFAR stem only"):
        keras_io.replace(model={"probe_grid": 2}).check()
    assert keras_io.replace(model={"probe_grid": 1}).check().model.probe_grid == 1


@pytest.mark.parametrize("stages", [(), (5,), (0, 4), (4, 3), (3, 3), (3.5,), [3, 4]])
def test_probe_stages_that_are_not_stages_numbered_1_to_4_once_in_order_are_refused(stages):
    with pytest.raises(BarlowError, match="`probe_stages`") as err:
        recipes.get("cpu").replace(model={"probe_stages": stages}).check()
    assert "(3, 4)" in err.value.fix


def test_earlier_stages_are_probed_only_on_the_grid_of_the_cifar_stems_maps():
    cpu = recipes.get("cpu")
    assert cpu.replace(model={"probe_stages": (3, 4)}).check().model.probe_stages == (3, 4)
    for model in ({"probe_grid": 1}, {"stem": "imagenet", "probe_grid": 1}):
        with pytest.raises(BarlowError, match="on the grid") as err:
            cpu.replace(model=model | {"probe_stages": (3, 4)}, augment={"output_size": None}).check()
        assert "probe_grid" in err.value.fix


def test_a_recipe_written_before_a_setting_existed_trains_as_the_same_recipe_today():
    # cpu_seeds compares the record's recipe with today's: a field added since is at its default, not a change.
    cpu = recipes.get("cpu")
    old = cpu.to_dict()
    del old["model"]["probe_stages"]
    assert cpu.trains_as(old)
    assert not cpu.replace(model={"probe_stages": (3, 4)}).trains_as(old)
    assert not cpu.trains_as(dict(old, model=dict(old["model"], a_newer_setting=1)))  # unknown: another recipe
    assert recipes.Recipe.from_dict(json.loads(json.dumps(cpu.replace(model={"probe_stages": (3, 4)}).to_dict()))
                                    ).model.probe_stages == (3, 4)  # JSON's list read back as the tuple


def test_views_smaller_than_the_images_with_the_imagenet_stem_are_refused_before_training():
    # The twin could not be built (its flatten takes one map size): check says so, with a fix, not a traceback.
    with pytest.raises(BarlowError, match="need the CIFAR stem") as err:
        recipes.get("cpu").replace(model={"stem": "imagenet"}).check()
    assert "output_size" in err.value.fix
    recipes.get("cpu").replace(model={"stem": "imagenet", "probe_grid": 1},
                               augment={"output_size": None}).check()  # full size: fine


@pytest.mark.integration  # two twins compiled: seconds, outside the 5-minute unit suite
def test_a_recipe_can_train_with_vicregs_loss_instead_and_a_misspelt_loss_is_refused():
    import numpy as np

    from barlow_lib import models, train

    batch = train.epoch_inputs(np.random.default_rng(0).integers(0, 256, (32, 32, 32, 3), np.uint8), 32, 0, 0)
    losses = {}
    for name in ("barlow_twins", "vicreg"):
        twin = models.build_twin(recipes.get("smoke").replace(batch_size=32, loss=name), steps_per_epoch=1)
        losses[name] = float(twin.train_on_batch(batch, return_dict=True)["loss"])
    assert all(np.isfinite(v) for v in losses.values()) and losses["vicreg"] != losses["barlow_twins"]
    with pytest.raises(BarlowError, match="`loss` 'VICReg'"):
        recipes.get("smoke").replace(loss="VICReg").check()
