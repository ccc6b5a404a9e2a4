"""The command line: one JSON line per command, one clear error per expected mistake."""
import contextlib
import functools
import importlib
import io
import json
import os
import pkgutil
import re
import signal
import subprocess
import sys
import time
import types

import numpy as np
import pytest
from PIL import Image

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}


def as_from_a_terminal():
    """``preexec_fn`` of a child the tests interrupt: Ctrl-C reaches it as it reaches a command typed in a
    terminal. Where the tests themselves were started in the background (``bash .ci/run &``), SIGINT is
    ignored and a child inherits that: Python would then never raise KeyboardInterrupt for the test's Ctrl-C."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def cli(*args, check=True, env=None, real_process=False):
    """Run the command line in this process (Keras is imported once: seconds saved per call), or as a
    real ``python -m barlow_lib`` process where exit status and raw stderr matter."""
    if real_process:
        proc = subprocess.run([sys.executable, "-m", "barlow_lib", *map(str, args)], capture_output=True, text=True,
                              env={**ENV, **(env or {})}, timeout=300)
    else:
        from barlow_lib.cli import main

        out, err, saved = io.StringIO(), io.StringIO(), dict(os.environ)
        os.environ.update(env or {})
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main([str(a) for a in args])
        finally:
            os.environ.clear()
            os.environ.update(saved)
        proc = types.SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())
    proc.command = str(args[0]) if args else ""
    if check:
        assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def last_json(proc):
    return json.loads(proc.stdout.strip().splitlines()[-1])


def assert_clean_error(proc, *fragments):
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: ") and "fix:" in proc.stderr
    for f in fragments:
        assert f in proc.stderr, proc.stderr
    assert_flags_exist(proc.stderr, getattr(proc, "command", ""))


def command_options(command: str) -> set[str]:
    """The options ``barlow-twins COMMAND`` accepts."""
    from barlow_lib.cli import build_parser

    sub = build_parser()._subparsers._group_actions[0].choices[command]
    return {o for a in sub._actions for o in a.option_strings}


def assert_flags_exist(message: str, command: str):
    """Every --flag a message names is an option of the command it is about: the one that ran, or the one the
    text names before it (`barlow-twins train --out DIR`: train's). A library name the CLI left in
    backticks (`image_size`) is a parameter the command line does not have."""
    from barlow_lib.cli import build_parser

    commands = build_parser()._subparsers._group_actions[0].choices
    running = command if command in commands else None
    for line in message.splitlines():
        for span in re.split(r"(`[^`]*`)", line):
            if re.fullmatch(r"`[a-z_]+`", span) and running:
                raise AssertionError(f"{span} is a library parameter, not an option of `{running}`: {message}")
            current = running
            for word in re.findall(r"barlow-twins \w[\w-]*|(?<![\w-])--[a-z][a-z0-9-]*", span):
                if word.startswith("barlow-twins "):
                    current = word.split()[1] if word.split()[1] in commands else None
                elif current:
                    assert word in command_options(current), f"{word} is not an option of `{current}`: {message}"


def test_info_reports_the_seed_network_exactly():
    info = last_json(cli("info", "--recipe", "keras-io"))
    assert info["params"] == 73_921_624 and info["recipe"] == "keras-io"
    assert last_json(cli("info", "--recipe", "seed")) == info  # the name earlier versions used still works
    assert info["backbone_params"] + info["projector_params"] == info["params"]
    assert info["feature_dim"] == 512 and info["embedding_dim"] == 5000


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    res = last_json(cli("train", "--recipe", "smoke", "--data", "synthetic", "--out", out, "--epochs", "2",
                        "--limit", "512", "--quiet"))
    assert res["complete"] and res["epochs"] == 2
    return out


def test_train_then_evaluate_knn_and_random_init(smoke_run):
    trained = last_json(cli("evaluate", "--run", smoke_run, "--protocol", "knn", "--quiet"))
    base = last_json(cli("evaluate", "--run", smoke_run, "--protocol", "knn", "--random-init", "--quiet"))
    for r in (trained, base):
        assert r["protocol"] == "knn" and r["split"] == "test" and r["n_train"] == 2000 and r["n_eval"] == 500
        assert 0.0 <= r["accuracy"] <= 1.0
    assert base["random_init"] and not trained["random_init"]
    assert (smoke_run / "eval-knn.json").exists() and (smoke_run / "eval-knn-random-init.json").exists()
    # the printed figures are those of the run's own backbone and of its untrained twin, on the test split
    from barlow_lib import data, evaluate
    from barlow_lib.runs import Run

    ds = data.load("synthetic")
    for r, random_init in ((trained, False), (base, True)):
        bb = Run(smoke_run).load_backbone(random_init=random_init)
        assert r["accuracy"] == round(evaluate.backbone_knn(bb, ds.x_train, ds.y_train, ds.x_eval, ds.y_eval), 4)
    # two different networks (their accuracies may tie: after 2 epochs on 512 images both scored 107 of 500 once)
    run = Run(smoke_run)
    features = [evaluate.extract_features(run.load_backbone(random_init=r), ds.x_eval[:64]) for r in (False, True)]
    assert not np.allclose(*features, atol=1e-3)


def test_a_random_init_backbone_is_the_same_each_time_and_does_not_reseed_the_notebook(smoke_run):
    from barlow_lib.runs import Run

    run = Run(smoke_run)
    np.random.seed(3)
    expected = np.random.rand(3)
    np.random.seed(3)
    first = run.load_backbone(random_init=True).get_weights()
    assert np.array_equal(np.random.rand(3), expected)
    second = run.load_backbone(random_init=True).get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(first, second))


def test_linear_probe_protocol(smoke_run):
    r = last_json(cli("evaluate", "--run", smoke_run, "--protocol", "linear", "--quiet"))
    assert r["protocol"] == "linear" and 0.05 < r["accuracy"] <= 1.0


def test_evaluate_the_projector_output_as_the_keras_io_example_did(smoke_run):
    r = last_json(cli("evaluate", "--run", smoke_run, "--protocol", "knn", "--output", "projector", "--quiet"))
    assert r["output"] == "projector" and 0 <= r["accuracy"] <= 1
    saved = json.loads((smoke_run / "eval-knn-projector.json").read_text())
    assert saved["accuracy"] == r["accuracy"] and len(saved["confusion"]) == 10
    assert_clean_error(cli("evaluate", "--run", smoke_run, "--output", "projector", "--random-init", check=False),
                       "--output")


def test_augment_preview_writes_a_png(tmp_path):
    cli("augment-preview", "--data", "synthetic", "--out", tmp_path / "grid.png", "--n", "4")
    assert Image.open(tmp_path / "grid.png").size[0] > 100


def test_unknown_recipe_and_missing_data(tmp_path):
    assert_clean_error(cli("train", "--recipe", "nope", "--out", tmp_path / "r", check=False, real_process=True),
                       "unknown recipe")
    assert_clean_error(cli("train", "--recipe", "smoke", "--data", tmp_path / "nowhere", "--out", tmp_path / "r",
                           check=False), "no such file or folder")
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("batch,fragment", [("1", "at least 2 images"), ("100000", "larger than the")])
def test_bad_batch_sizes(tmp_path, batch, fragment):
    proc = cli("train", "--recipe", "smoke", "--data", "synthetic", "--out", tmp_path / "r", "--batch-size", batch,
               check=False)
    assert_clean_error(proc, fragment)
    assert not (tmp_path / "r").exists()


def test_bad_image_folders(tmp_path):
    (tmp_path / "empty").mkdir()
    assert_clean_error(cli("train", "--recipe", "smoke", "--data", tmp_path / "empty", "--out", tmp_path / "r",
                           check=False), "holds no images")
    bad = tmp_path / "bad" / "train" / "cat"
    bad.mkdir(parents=True)
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(bad / "ok.png")
    (bad / "torn.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    assert_clean_error(cli("train", "--recipe", "smoke", "--data", tmp_path / "bad", "--out", tmp_path / "r",
                           check=False, env={"BARLOW_CACHE": str(tmp_path / "c")}), "torn.jpg", "corrupt")
    assert not (tmp_path / "r").exists()


def test_evaluate_refuses_unlabeled_data_other_recipes_and_non_runs(smoke_run, tmp_path):
    flat = tmp_path / "flat"
    flat.mkdir()
    for i in range(3):
        Image.fromarray(np.full((32, 32, 3), i * 40, np.uint8)).save(flat / f"{i}.png")
    assert_clean_error(cli("evaluate", "--run", smoke_run, "--data", flat, check=False,
                           env={"BARLOW_CACHE": str(tmp_path / "c")}), "no labels", "DIR/train/<class>")
    assert_clean_error(cli("evaluate", "--run", smoke_run, "--recipe", "cpu", check=False),
                       "trained with recipe 'smoke', not 'cpu'")
    assert_clean_error(cli("evaluate", "--run", tmp_path, check=False), "not a run directory")


@pytest.mark.faults  # real processes, a minute on 2 cores: with the fault-injection suite
def test_sigkill_mid_epoch_then_the_same_command_resumes(tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "barlow_lib", "train", "--recipe", "smoke", "--data", "synthetic", "--out", str(out),
           "--epochs", "3", "--limit", "768", "--batch-size", "32"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=ENV, text=True)
    history = out / "history.json"
    deadline = time.time() + 240
    while time.time() < deadline and not history.exists():
        time.sleep(0.05)
    assert history.exists(), "first epoch never finished"
    time.sleep(0.3)  # into the second epoch
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = json.loads(history.read_text())["epoch"]
    assert 1 <= len(done) < 3, done  # killed mid-run, not after it
    resumed = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"resuming {out} after epoch {len(done)}/3" in resumed.stdout
    h = json.loads(history.read_text())
    assert h["epoch"] == [1, 2, 3] and h["complete"]
    assert (out / "backbone.keras").exists()
    assert not list(out.rglob(".*tmp*")), "a temporary file was left behind"
    # the kill lost at most the epoch in flight, and the resumed run is the uninterrupted one
    whole = tmp_path / "whole"
    cli(*cmd[3:-8], "--out", whole, "--epochs", "3", "--limit", "768", "--batch-size", "32", "--quiet")
    np.testing.assert_allclose(h["loss"], json.loads((whole / "history.json").read_text())["loss"], rtol=1e-5)


def test_library_messages_name_parameters_not_command_line_flags():
    """Errors raised in the library speak its own language (`batch_size`); only the CLI shows --batch-size."""
    import ast
    from pathlib import Path

    import barlow_lib

    for path in Path(barlow_lib.__file__).parent.rglob("*.py"):
        if path.name == "cli.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "BarlowError":
                text = " ".join(c.value for c in ast.walk(node)
                                if isinstance(c, ast.Constant) and isinstance(c.value, str))
                assert not re.search(r"--[a-z]", text), f"{path.name}:{node.lineno} names a flag: {text[:120]}"
                for name in re.findall(r"`([a-z_]+)`", text):
                    assert name in known_parameters(), f"{path.name}:{node.lineno}: `{name}` is no parameter"


@functools.lru_cache
def known_parameters() -> set[str]:
    """Names a library message may put in backticks: the command line's translations, the recipe's fields, and
    the parameters of the library's public functions and methods (what a notebook user can pass)."""
    import dataclasses
    import inspect

    import barlow_lib
    from barlow_lib import augment, recipes
    from barlow_lib.cli import FLAGS

    names = set(FLAGS)
    for cls in (recipes.Recipe, recipes.ModelSpec, augment.AugmentConfig):
        names |= {f.name for f in dataclasses.fields(cls)}
    for info in pkgutil.iter_modules(barlow_lib.__path__):
        if info.name == "__main__":
            continue
        module = importlib.import_module(f"barlow_lib.{info.name}")
        for _, obj in inspect.getmembers(module, callable):
            for fn in [obj, *(m for _, m in inspect.getmembers(obj, inspect.isfunction))]:
                try:
                    names |= set(inspect.signature(fn).parameters)
                except (TypeError, ValueError):
                    pass
    return names


def test_library_wording_becomes_flags_in_the_cli():
    from barlow_lib.cli import as_flags

    assert as_flags("`batch_size` 1: use `batch_size` 64") == "--batch-size 1: use --batch-size 64"
    assert as_flags("lower `learning_rate`") == "lower --lr" and as_flags("`unknown_name`") == "`unknown_name`"


def test_a_message_naming_an_option_its_command_lacks_is_caught():
    assert_flags_exist("use --limit 100", "train")
    assert_flags_exist("run `barlow-twins train --out DIR` first, then --protocol knn", "evaluate")
    for message, command in [("use --epochs 5", "evaluate"), ("use `image_size` 32", "evaluate"),
                             ("evaluate with `barlow-twins evaluate --epochs 5`", "train")]:
        with pytest.raises(AssertionError):
            assert_flags_exist(message, command)


def test_evaluate_on_images_of_another_size_names_only_options_evaluate_has(smoke_run, tmp_path):
    np.savez(tmp_path / "big.npz", x_train=np.zeros((40, 16, 16, 3), np.uint8), y_train=np.arange(40) % 2)
    proc = cli("evaluate", "--run", smoke_run, "--data", tmp_path / "big.npz", "--quiet", check=False)
    assert_clean_error(proc, "px")


def test_a_log_file_gets_one_line_per_epoch_not_the_bar_s_frames(tmp_path):
    log = tmp_path / "log"
    with open(log, "w") as f:  # stdout not a terminal, as under nohup or CI
        subprocess.run([sys.executable, "-m", "barlow_lib", "train", "--recipe", "smoke", "--data", "synthetic",
                        "--limit", "256", "--epochs", "2", "--out", tmp_path / "run"], stdout=f,
                       stderr=subprocess.STDOUT, env=ENV, timeout=300, check=True)
    text = log.read_text()
    assert "\r" not in text, text[:500]
    assert [line.split(":")[0] for line in text.splitlines() if line.startswith("epoch ")] == ["epoch 1/2",
                                                                                               "epoch 2/2"]


def test_importing_the_library_prints_nothing_of_tensorflow_s_start_up():
    """TF 2.21 writes absl/oneDNN/CUDA lines to file descriptor 2 whatever TF_CPP_MIN_LOG_LEVEL says: a notebook
    or a script that imports barlow_lib must not show them as the reader's first output."""
    env = {k: v for k, v in ENV.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    proc = subprocess.run([sys.executable, "-c", "import barlow_lib.train; print('ready')"], capture_output=True,
                          text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "ready\n" and proc.stderr == "", proc.stderr[:500]


def test_the_recipe_option_s_help_names_every_recipe_and_alias():
    from barlow_lib import recipes
    from barlow_lib.cli import build_parser

    train = build_parser()._subparsers._group_actions[0].choices["train"]
    text = next(a.help for a in train._actions if a.dest == "recipe")
    named = set(re.findall(r"[a-z][a-z0-9-]*", text)) - {"alias", "or"}
    assert named == set(recipes.RECIPES) | set(recipes.ALIASES)
