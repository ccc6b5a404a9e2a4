"""Fault injection: damaged run folders, bad options and malformed data end in `error:` / `fix:` lines,
never a traceback, and never cost the run its previous good state; kills at any write leave a run that the
same command finishes.

Slower than the unit suite (it trains many tiny runs): `pytest -m faults`, a step of its own in .ci/run.
"""
import json
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from test_cli import ENV, as_from_a_terminal, assert_clean_error, cli, last_json

pytestmark = pytest.mark.faults

TRAIN = ("train", "--recipe", "smoke", "--data", "synthetic", "--epochs", "2", "--limit", "128", "--batch-size", "32",
         "--quiet")


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    out = tmp_path_factory.mktemp("faults") / "finished"
    assert last_json(cli(*TRAIN, "--out", out))["complete"]
    return out


@pytest.fixture(scope="module")
def unfinished(tmp_path_factory):
    """A run stopped after its first epoch (as a kill after that epoch's checkpoint leaves it)."""
    from barlow_lib import data, recipes, train

    out = tmp_path_factory.mktemp("faults") / "unfinished"
    ds = data.load("synthetic", limit=128)
    train.train(recipes.get("smoke").replace(epochs=2, batch_size=32), ds, out, progress=False, max_epochs=1)
    return out


def copy(run, tmp_path) -> Path:
    dst = tmp_path / "run"
    shutil.copytree(run, dst)
    return dst


def snapshot(folder: Path) -> dict:
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file() and p.name != ".lock"}


def truncate(path: Path):
    path.write_bytes(path.read_bytes()[: max(1, path.stat().st_size // 2)])


def garble(path: Path):
    path.write_bytes(b"\x00garbage\xff" * 8)


# (which run, what to damage, how, the command after the run folder, what the error must say)
DAMAGED = [
    ("finished", "config.json", truncate, ("evaluate", "--quiet"), "config.json is damaged"),
    ("finished", "config.json", lambda p: p.write_text('{"recipe": 1}'), ("evaluate", "--quiet"),
     "config.json is damaged"),
    ("finished", "history.json", garble, ("evaluate", "--quiet"), "history.json is damaged"),
    ("finished", "backbone.keras", truncate, ("evaluate", "--quiet"), "backbone.keras cannot be loaded"),
    ("finished", "provenance.json", truncate, ("record",), "provenance.json is damaged"),
    ("finished", "diagnostics/epoch-0001.npz", truncate, ("record",), "epoch-0001.npz is damaged"),
    ("unfinished", "checkpoints/last.npz", truncate, TRAIN, "checkpoint"),
    ("unfinished", "checkpoints/last.npz", garble, TRAIN, "is damaged"),
    ("unfinished", "config.json", lambda p: p.write_text("{"), ("evaluate", "--quiet"), "config.json is damaged"),
    ("unfinished", "history.json", lambda p: None, ("evaluate", "--quiet"), "has not finished training"),
]


@pytest.mark.parametrize("which,name,damage,command,fragment", DAMAGED,
                         ids=[f"{w}-{n}-{c[0]}-{i}" for i, (w, n, _, c, _) in enumerate(DAMAGED)])
def test_a_damaged_run_folder_gives_one_clear_error_and_loses_nothing(which, name, damage, command, fragment,
                                                                      request, tmp_path):
    run = copy(request.getfixturevalue(which), tmp_path)
    if command == ("record",):
        pytest.importorskip("sklearn")
        cli("evaluate", "--run", run, "--quiet")  # something for the record to read
        command = ("record", "--out", tmp_path / "record", "--no-supervised", "--quiet")
    damage(run / name)
    before = snapshot(run)
    where = ("--out", run) if command[0] == "train" else ("--run", run)
    proc = cli(*command, *where, check=False)
    assert_clean_error(proc, fragment)
    assert snapshot(run) == before, "a failed command changed the run folder"
    assert not (tmp_path / "record").exists(), "a failed record left files behind"


BAD_OPTIONS = [
    (("--epochs", "0"), "--epochs 0"), (("--epochs", "-3"), "--epochs -3"),
    (("--batch-size", "0"), "--batch-size 0"), (("--batch-size", "1"), "at least 2 images"),
    (("--seed", "-1"), "--seed -1"), (("--seed", str(2**32)), "--seed"),
    (("--devices", "0"), "--devices 0"), (("--devices", "3"), "does not split evenly over --devices 3"),
    (("--devices", "64"), "more devices than are visible"),
    (("--knn-every", "-1"), "--knn-every -1"),
    (("--limit", "0"), "--limit 0"), (("--limit", "-5"), "--limit -5"),
    (("--lr", "0"), "--lr 0"), (("--lr", "nan"), "--lr nan"), (("--lr", "-1"), "--lr -1"),
    (("--image-size", "4"), "--image-size 4"),
    (("--data", "no/such/folder"), "no such file or folder"),
]


@pytest.mark.parametrize("options,fragment", BAD_OPTIONS, ids=[" ".join(o) for o, _ in BAD_OPTIONS])
def test_out_of_range_options_are_refused_before_anything_is_written(options, fragment, tmp_path):
    args = ["train", "--recipe", "smoke", "--data", "synthetic", "--limit", "256", "--epochs", "1", "--quiet",
            "--out", tmp_path / "run"]
    for flag, value in zip(options[::2], options[1::2]):
        if flag in args:
            args[args.index(flag) + 1] = value
        else:
            args += [flag, value]
    assert_clean_error(cli(*args, check=False), fragment)
    assert not (tmp_path / "run").exists()


def test_evaluate_and_preview_options(finished, tmp_path):
    for fraction in ("0", "1.5"):
        assert_clean_error(cli("evaluate", "--run", finished, "--label-fraction", fraction, check=False),
                           "--label-fraction")
    assert_clean_error(cli("augment-preview", "--out", tmp_path / "v.png", "--n", "0", check=False), "--n 0")


def test_out_naming_a_file_or_a_path_through_a_file(tmp_path):
    (tmp_path / "file").write_text("x")
    assert_clean_error(cli(*TRAIN, "--out", tmp_path / "file", check=False), "is a file")
    assert_clean_error(cli(*TRAIN, "--out", tmp_path / "file" / "run", check=False), "could not write")
    assert (tmp_path / "file").read_text() == "x"


def test_out_naming_a_folder_of_other_files_is_refused(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("precious")
    assert_clean_error(cli(*TRAIN, "--out", tmp_path / "mine", check=False), "is not empty", "thesis.tex")
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "precious"


def save_npz(path, **arrays):
    np.savez(path, **arrays)
    return path


def images(n=40, size=8, dtype=np.uint8):
    return np.random.default_rng(0).integers(0, 255, (n, size, size, 3)).astype(dtype)


MALFORMED = [
    ("labels-length", dict(x_train=images(), y_train=np.arange(39) % 2), "one whole-number class per image"),
    ("labels-2d", dict(x_train=images(), y_train=np.zeros((40, 2), int)), "one whole-number class per image"),
    ("labels-negative", dict(x_train=images(), y_train=np.arange(40) % 2 - 1), "negative labels"),
    ("labels-fractional", dict(x_train=images(), y_train=np.linspace(0, 1, 40)), "whole-number class"),
    ("not-square", dict(x_train=np.zeros((40, 8, 6, 3), np.uint8)), "square images"),
    ("grey-3d", dict(x_train=np.zeros((40, 8, 8), np.uint8)), "(N, H, W, 3)"),
    ("empty", dict(x_train=np.zeros((0, 8, 8, 3), np.uint8)), "N >= 1"),
    ("floats-standardised", dict(x_train=images(dtype=np.float32) / 127.5 - 1.0), "neither [0, 1] nor [0, 255]"),
    ("floats-too-large", dict(x_train=images(dtype=np.float32) * 4), "neither [0, 1] nor [0, 255]"),
    ("strings", dict(x_train=np.array(["a", "b"])), "(N, H, W, 3)"),
    ("test-size", dict(x_train=images(), y_train=np.arange(40) % 2, x_test=images(size=16), y_test=np.arange(40) % 2),
     "x_test images are 16 px"),
]


@pytest.mark.parametrize("name,arrays,fragment", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_npz_data_is_refused(name, arrays, fragment, tmp_path):
    path = save_npz(tmp_path / "d.npz", **arrays)
    assert_clean_error(cli(*TRAIN, "--data", path, "--out", tmp_path / "run", check=False), fragment)
    assert not (tmp_path / "run").exists()


def test_pickled_object_arrays_are_refused(tmp_path):
    obj = np.empty(2, dtype=object)
    obj[:] = [np.zeros(3), np.zeros(4)]
    np.savez(tmp_path / "d.npz", x_train=obj)
    assert_clean_error(cli(*TRAIN, "--data", tmp_path / "d.npz", "--out", tmp_path / "run", check=False),
                       "cannot be read safely")


def test_floats_in_0_255_are_read_as_pixel_values(tmp_path):
    from barlow_lib import data

    x = images(dtype=np.float32)
    path = save_npz(tmp_path / "d.npz", x_train=x, y_train=np.arange(40) % 2)
    ds = data.load(str(path))
    both = np.concatenate([ds.x_train, ds.x_eval])
    assert both.max() > 200 and sorted(both.ravel().tolist()) == sorted(x.astype(np.uint8).ravel().tolist())


def test_an_unreadable_cache_file_is_rebuilt(tmp_path, monkeypatch):
    from PIL import Image

    from barlow_lib import data

    monkeypatch.setenv("BARLOW_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "imgs" / "a"
    folder.mkdir(parents=True)
    for i in range(3):
        Image.fromarray(np.full((8, 8, 3), 40 * i, np.uint8)).save(folder / f"{i}.png")
    first = data.load(str(tmp_path / "imgs")).x_train
    (cache,) = (tmp_path / "cache").glob("*.npy")
    cache.write_bytes(b"torn")
    assert np.array_equal(data.load(str(tmp_path / "imgs")).x_train, first)
    assert np.load(cache).shape == (3, 8, 8, 3)  # written again, whole


# ---- states a kill can leave, and the repair the same command makes ----------------------------------

# `barlow-twins train` with every file write counted: the k-th write (argv[1]) SIGKILLs the process after its
# temporary file is written and before the rename, as a kill arriving mid-write would. Each write's path is
# logged (argv[2]) as it starts. A real SIGKILL: no `except`, `finally` or exit handler of the run ever runs.
DIE_AT_WRITE = """
import os, signal, sys
from barlow_lib import files
k, log, real, count = int(sys.argv[1]), sys.argv[2], files.atomic_write, [0]

def counted(path, write):
    count[0] += 1
    with open(log, "a") as f:
        f.write(f"{path}\\n")
    if count[0] != k:
        return real(path, write)

    def write_then_die(tmp):
        write(tmp)
        os.kill(os.getpid(), signal.SIGKILL)
    return real(path, write_then_die)

files.atomic_write = counted
from barlow_lib.cli import main
sys.exit(main(sys.argv[3:]))
"""


def intact(path: Path) -> bool:
    """Whether a run file reads back whole (json parses; npz and .keras archives pass their checksums)."""
    try:
        if path.suffix == ".json":
            json.loads(path.read_text())
        else:
            with zipfile.ZipFile(path) as z:
                return z.testzip() is None
        return True
    except (OSError, ValueError, zipfile.BadZipFile, EOFError):
        return False


def run_files(folder: Path) -> set:
    """What a run folder holds, less its lock, TensorBoard's event files and saved evaluations."""
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and p.name != ".lock"
            and "tensorboard" not in p.relative_to(folder).parts and not p.name.startswith("eval-")}


def test_a_sigkill_during_any_write_is_finished_by_the_same_command(tmp_path, finished):
    """SIGKILL `barlow-twins train` (a real process) in the middle of its k-th file write, for every k until
    it finishes unharmed. Each time the folder must hold whole files only: those of the k-1 finished writes
    and the k-th write's temporary file, no half-written final file. Then the same command must bring it to
    the state of the uninterrupted run: same files, same losses, complete, no temporary file left, and
    `evaluate` answers as it does for the uninterrupted run. (A kill just after write k leaves the state of
    a kill during write k+1 less its temporary file, so every moment between writes is covered.) Kills before
    the first checkpoint leave config.json, provenance.json and diagnostics with no checkpoint: a folder the
    rerun must resume into, not refuse."""
    from barlow_lib import runs

    reference = json.loads((finished / "history.json").read_text())
    accuracy = last_json(cli("evaluate", "--run", finished, "--quiet"))["accuracy"]
    logs = []
    for k in range(1, 40):
        out, log = tmp_path / f"k{k}", tmp_path / f"k{k}.log"
        proc = subprocess.run([sys.executable, "-c", DIE_AT_WRITE, str(k), str(log), *TRAIN, "--out", str(out)],
                              capture_output=True, text=True, env=ENV, timeout=300, cwd=Path(__file__).parents[1])
        writes = [Path(p) for p in (log.read_text().splitlines() if log.exists() else [])]
        logs.append(writes)
        if proc.returncode == 0:
            assert len(writes) == k - 1 and last_json(proc)["complete"], proc.stdout[-2000:]
            assert run_files(out) == run_files(finished)
            break  # k is past the last write: a kill during every write has been tried
        assert proc.returncode == -signal.SIGKILL and len(writes) == k, (k, proc.returncode, proc.stderr[-3000:])
        dying = writes[-1]
        done = {str(p.relative_to(out)) for p in writes[:-1]}
        temp = {p for p in run_files(out) if Path(p).name.startswith(".")}
        assert len(temp) == 1 and Path(next(iter(temp))).parent == dying.parent.relative_to(out) \
            and Path(next(iter(temp))).name.startswith(f".{dying.stem}.tmp"), (k, dying, temp)
        assert run_files(out) - temp == done, (k, dying)  # exactly the finished writes' files
        assert all(intact(out / p) for p in done), (k, dying)
        res = last_json(cli(*TRAIN, "--out", out))
        assert res["complete"] and res["epochs"] == 2, (k, dying)
        assert run_files(out) == run_files(finished), (k, dying)  # no temporary file, nothing missing
        h = json.loads((out / "history.json").read_text())
        assert h["complete"] and h["epoch"] == reference["epoch"], (k, dying)
        np.testing.assert_allclose(h["loss"], reference["loss"], rtol=1e-5, err_msg=f"k={k} {dying}")
        assert runs.Run(out).is_complete()
        assert last_json(cli("evaluate", "--run", out, "--quiet"))["accuracy"] == accuracy, (k, dying)
    else:
        pytest.fail("the run never finished")
    names = [[p.relative_to(tmp_path / f"k{i + 1}") for p in w] for i, w in enumerate(logs)]
    assert all(n == names[-1][: len(n)] for n in names), "every run makes the same writes in the same order"
    assert len(names[-1]) > 10  # config, provenance, diagnostics, checkpoints, histories, exports
    assert names[-1].count(Path("checkpoints/last.npz")) == 2 and names[-1][0] == Path("config.json")


def test_lost_config_is_restored_from_the_checkpoint_only_for_the_same_settings(unfinished, tmp_path):
    run = copy(unfinished, tmp_path)
    config = json.loads((run / "config.json").read_text())
    (run / "config.json").unlink()
    assert_clean_error(cli(*TRAIN, "--out", run, "--seed", "7", check=False), "other settings", "seed")
    assert_clean_error(cli(*TRAIN[:-1], "--limit", "100", "--out", run, "--quiet", check=False), "limit")
    assert not (run / "config.json").exists()
    proc = cli(*TRAIN[:-1], "--out", run)
    assert "rewritten from the checkpoint" in proc.stdout and last_json(proc)["complete"]
    assert json.loads((run / "config.json").read_text()) == config


def test_a_run_whose_checkpoint_is_gone_is_not_silently_restarted(unfinished, tmp_path):
    run = copy(unfinished, tmp_path)
    (run / "checkpoints" / "last.npz").unlink()
    assert_clean_error(cli(*TRAIN, "--out", run, check=False), "checkpoint is gone")


@pytest.mark.parametrize("name,damage", [("history.json", garble), ("backbone.keras", truncate),
                                         ("projector.keras", truncate), ("config.json", truncate)])
def test_train_repairs_what_the_checkpoint_can_restore(finished, tmp_path, name, damage):
    run = copy(finished, tmp_path)
    damage(run / name)
    res = last_json(cli(*TRAIN, "--out", run))
    assert res["complete"] and res["epochs"] == 2
    assert last_json(cli("evaluate", "--run", run, "--quiet"))["accuracy"] == \
        last_json(cli("evaluate", "--run", finished, "--quiet"))["accuracy"]


def test_temporary_files_of_a_killed_write_are_removed(unfinished, tmp_path):
    run = copy(unfinished, tmp_path)
    (run / "checkpoints" / ".last.tmp4242.npz").write_bytes(b"\x00" * 1000)
    (run / ".history.tmp4242.json").write_text("{")
    cli(*TRAIN, "--out", run)
    assert not list(run.rglob(".*.tmp*"))


# ---- two processes, stale locks, Ctrl-C --------------------------------------------------------------

SLOW = ["train", "--recipe", "smoke", "--data", "synthetic", "--epochs", "10", "--limit", "1024", "--batch-size", "32",
        "--quiet"]


def start(out):
    return subprocess.Popen([sys.executable, "-m", "barlow_lib", *SLOW, "--out", str(out)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=ENV, preexec_fn=as_from_a_terminal)


def wait_for(path, proc, seconds=240):
    deadline = time.time() + seconds
    while time.time() < deadline and not path.exists() and proc.poll() is None:
        time.sleep(0.05)
    assert path.exists(), proc.communicate()[1][-2000:] if proc.poll() is not None else "timed out"


def test_a_second_process_on_the_same_run_is_refused_and_a_killed_ones_lock_does_not_block(tmp_path):
    out = tmp_path / "run"
    first = start(out)
    try:
        wait_for(out / "config.json", first)
        second = cli(*SLOW, "--out", out, check=False, real_process=True)
        assert_clean_error(second, "is being trained right now", f"process {first.pid}")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    resumed = cli(*SLOW, "--out", out, real_process=True)  # the kernel dropped the dead process's lock
    assert last_json(resumed)["complete"]


def test_ctrl_c_says_how_to_resume(tmp_path):
    out = tmp_path / "run"
    proc = start(out)
    wait_for(out / "history.json", proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err and "error: interrupted" in err and "run the same command again" in err
    assert last_json(cli(*SLOW, "--out", out))["complete"]


# ---- full disks and read-only media, for real: a small tmpfs in a private mount namespace -------------

def namespaces_work() -> bool:
    try:
        return subprocess.run(["unshare", "-rm", "true"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


needs_mounts = pytest.mark.skipif(not namespaces_work(), reason="needs `unshare -rm` (user and mount namespaces)")


def in_private_mount(script: str, tmp_path) -> subprocess.CompletedProcess:
    mnt = tmp_path / "mnt"
    mnt.mkdir(exist_ok=True)
    env = {**ENV, "MNT": str(mnt), "PY": sys.executable, "BARLOW_CACHE": str(tmp_path / "cache")}
    return subprocess.run(["unshare", "-rm", "bash", "-c", script], capture_output=True, text=True, env=env,
                          timeout=600, cwd=Path(__file__).parents[1])


@needs_mounts
def test_a_full_disk_ends_in_a_clear_error_with_no_temporary_files_left(tmp_path):
    args = " ".join(TRAIN)
    proc = in_private_mount(f"""
        mount -t tmpfs -o size=400k tmpfs "$MNT" || exit 99
        "$PY" -m barlow_lib {args} --out "$MNT/run"; echo "rc=$?"
        find "$MNT" -name '.*tmp*' | sed 's/^/left: /'
        """, tmp_path)
    assert "rc=2" in proc.stdout, proc.stdout + proc.stderr[-3000:]
    assert "error: could not write" in proc.stderr and "No space left on device" in proc.stderr
    assert "fix: free some space" in proc.stderr and "Traceback" not in proc.stderr
    assert "left:" not in proc.stdout


@needs_mounts
def test_read_only_media_finished_runs_need_no_writes_and_evaluate_still_answers(finished, unfinished, tmp_path):
    args = " ".join(TRAIN)
    proc = in_private_mount(f"""
        mount -t tmpfs -o size=64m tmpfs "$MNT" || exit 99
        cp -r "{finished}" "$MNT/finished" && cp -r "{unfinished}" "$MNT/unfinished"
        mount -o remount,ro "$MNT" || exit 98
        "$PY" -m barlow_lib {args.replace(" --quiet", "")} --out "$MNT/finished"; echo "train-finished rc=$?"
        "$PY" -m barlow_lib evaluate --run "$MNT/finished" --quiet; echo "evaluate rc=$?"
        "$PY" -m barlow_lib {args} --out "$MNT/unfinished"; echo "train-unfinished rc=$?"
        """, tmp_path)
    out, err = proc.stdout, proc.stderr
    assert "train-finished rc=0" in out and "nothing to train" in out, out + err[-3000:]
    assert "evaluate rc=0" in out and '"accuracy"' in out and "warning: the result was not saved" in err
    assert "train-unfinished rc=2" in out and "Read-only file system" in err and "make the folder writable" in err
    assert "Traceback" not in err
