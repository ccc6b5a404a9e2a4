"""TensorFlow's CPU threads: the library's default (two ops side by side, half the cores each), the
BARLOW_THREADS override, and bad values refused with error:/fix: lines; oneDNN turned on for x86-64 CPUs."""
import json
import os
import platform
import subprocess
import sys

import pytest

from barlow_lib import hardware
from barlow_lib.errors import BarlowError

REPORT = ("import json, tensorflow as tf, barlow_lib.backends; from barlow_lib import provenance;"
          "print(json.dumps([tf.config.threading.get_intra_op_parallelism_threads(),"
          "tf.config.threading.get_inter_op_parallelism_threads(), provenance.collect()['threads']]))")


@pytest.mark.parametrize("cores, expected", [(1, (1, 2)), (2, (1, 2)), (8, (4, 2)), (3, (1, 2))])
def test_default_is_half_the_cores_each_for_two_ops(monkeypatch, cores, expected):
    monkeypatch.setattr(hardware, "cpu_cores", lambda: cores)
    assert hardware.cpu_threads({}) == expected


def test_the_variable_picks_threads_or_tensorflows_own_choice():
    assert hardware.cpu_threads({"BARLOW_THREADS": "3,1"}) == (3, 1)
    assert hardware.cpu_threads({"BARLOW_THREADS": " 2, 4 "}) == (2, 4)
    assert hardware.cpu_threads({"BARLOW_THREADS": "TensorFlow"}) is None


@pytest.mark.parametrize("value", ["2", "a,b", "0,2", "1,2,3", "-1,1"])
def test_bad_values_are_refused_with_a_fix(value):
    with pytest.raises(BarlowError) as err:
        hardware.cpu_threads({"BARLOW_THREADS": value})
    assert value in err.value.problem and "BARLOW_THREADS=" in err.value.fix


def _threads_in_a_fresh_process(**env):
    out = subprocess.run([sys.executable, "-c", REPORT], capture_output=True, text=True, check=True,
                         env={k: v for k, v in os.environ.items() if k != "BARLOW_THREADS"} | env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_importing_the_library_sets_tensorflows_threads_and_the_record_says_so():
    intra, inter = hardware.cpu_threads({})
    assert _threads_in_a_fresh_process(KERAS_BACKEND="tensorflow") == [
        intra, inter, f"intra-op {intra}, inter-op {inter}"]
    assert _threads_in_a_fresh_process(KERAS_BACKEND="tensorflow", BARLOW_THREADS="tensorflow") == [
        0, 0, hardware.TENSORFLOW_THREADS]


def test_a_bad_setting_is_refused_before_keras_loads():
    probe = ("import sys\ntry:\n    import barlow_lib.backends\nexcept Exception as err:\n"
             "    print(type(err).__name__, 'keras' in sys.modules, 'tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         env=os.environ | {"BARLOW_THREADS": "1;2", "KERAS_BACKEND": "tensorflow"})
    assert out.stdout.split() == ["BarlowError", "False", "False"]


def test_the_command_line_refuses_a_bad_setting_with_error_and_fix():
    out = subprocess.run([sys.executable, "-m", "barlow_lib", "info", "--recipe", "cpu"], capture_output=True,
                         text=True, env=os.environ | {"BARLOW_THREADS": "four", "KERAS_BACKEND": "tensorflow"})
    assert out.returncode == 2, out.stderr
    assert out.stderr.startswith("error: BARLOW_THREADS='four'") and "fix:" in out.stderr
    assert "Traceback" not in out.stderr


def test_the_matmul_roof_runs_in_a_fresh_process_and_returns_a_rate():
    # Only that the fresh process starts, finds this library and prints GFLOP/s; which threads it uses is
    # set by its environment (BARLOW_THREADS=tensorflow), not checked here.
    roof = hardware.matmul_roof("float32", n=512)
    assert 0.1 < roof < 1e5


@pytest.mark.parametrize("machine, environ, expected", [
    ("x86_64", {}, "1"), ("AMD64", {}, "1"), ("x86_64", {"TF_ENABLE_ONEDNN_OPTS": "0"}, "0"),
    ("x86_64", {"TF_ENABLE_ONEDNN_OPTS": "1"}, "1"), ("aarch64", {}, None), ("arm64", {}, None)])
def test_onednn_is_turned_on_for_an_x86_cpu_unless_the_user_chose(machine, environ, expected):
    env = dict(environ)
    assert hardware.enable_onednn(env, machine) == (environ == {} and expected == "1")
    assert env.get("TF_ENABLE_ONEDNN_OPTS") == expected


# TensorFlow's Linux x86-64 wheels carry oneDNN (its macOS ones do not, whatever the variable says)
ONEDNN_BUILD = pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64")
                                  or not sys.platform.startswith("linux"), reason="oneDNN: Linux x86-64 wheels")


def _onednn_in_a_fresh_process(code="import barlow_lib.backends", **env):
    """What ``provenance`` says of oneDNN after ``code`` ran in a fresh process with TF_ENABLE_ONEDNN_OPTS unset
    (unless ``env`` sets it)."""
    report = f"{code}; from barlow_lib import provenance; print(provenance.collect()['onednn'])"
    clean = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    out = subprocess.run([sys.executable, "-c", report], capture_output=True, text=True, check=True,
                         env=clean | {"KERAS_BACKEND": "tensorflow"} | env)
    return out.stdout.strip().splitlines()[-1]


@ONEDNN_BUILD
def test_importing_the_library_runs_tensorflow_with_onednn_and_the_record_says_so():
    # TensorFlow leaves oneDNN off by itself on AVX2-only CPUs (this test's machine, when written: an AMD EPYC)
    assert _onednn_in_a_fresh_process() == "True"
    assert _onednn_in_a_fresh_process(TF_ENABLE_ONEDNN_OPTS="0") == "False"  # the user's choice stands


@ONEDNN_BUILD
def test_the_bench_scripts_measure_with_onednn_as_the_library_runs():
    # They import TensorFlow before barlow_lib, too late for the library's own setting: bench/_common.py sets it.
    bench = os.path.join(os.path.dirname(__file__), "..", "bench")
    assert _onednn_in_a_fresh_process(f"import sys; sys.path.insert(0, {bench!r}); import _common, tensorflow") \
        == "True"


def test_a_result_line_says_whether_onednn_ran_where_the_file_recorded_it():
    from barlow_lib import provenance

    p = {"cpu": "AMD EPYC", "cpu_count": 2, "commit": "abc", "keras": "3.15.1", "backend": "tensorflow"}
    assert "on tensorflow (oneDNN on);" in provenance.describe(p | {"onednn": True})
    assert "on tensorflow (oneDNN off);" in provenance.describe(p | {"onednn": False})
    assert "oneDNN" not in provenance.describe(p) and "oneDNN" not in provenance.describe(p | {"onednn": None})
