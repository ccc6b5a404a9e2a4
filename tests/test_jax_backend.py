"""The core suite (loss, augmentations, a train step, kNN) again, with KERAS_BACKEND=jax."""
import os
import re
import subprocess
import sys
from pathlib import Path

import keras
import pytest


def outcome_counts(line: str) -> dict:
    """{"passed": 50, "deselected": 262, ...} from pytest's closing line."""
    return {word.rstrip("s") if word.startswith(("error", "warning")) else word: int(n)
            for n, word in re.findall(r"(\d+) (passed|failed|errors?|skipped|deselected|xfailed|xpassed|warnings?)",
                                      line)}


def selected_count(output: str) -> int:
    """How many tests pytest selected, from its 'collected N items / M deselected / K selected' line."""
    m = re.search(r"^collected (\d+) items?(?: / (\d+) errors?)?(?: / (\d+) deselected)?(?: / (\d+) selected)?",
                  output, re.M)
    assert m, "no 'collected N items' line in pytest's output"
    collected, errors, deselected, selected = (int(g) if g else None for g in m.groups())
    assert not errors, f"{errors} collection errors"
    return selected if selected is not None else collected - (deselected or 0)


def test_summary_parsing():
    assert outcome_counts("===== 48 passed, 2 skipped, 262 deselected, 1 warning in 61.2s =====") == {
        "passed": 48, "skipped": 2, "deselected": 262, "warning": 1}
    assert outcome_counts("== 1 failed, 3 passed, 2 errors in 1s ==") == {"failed": 1, "passed": 3, "error": 2}
    assert selected_count("x\ncollected 312 items / 262 deselected / 50 selected\n") == 50
    assert selected_count("collected 7 items\n") == 7


@pytest.mark.integration  # two minutes: CI runs it in its integration step, beside the unit suite's five
@pytest.mark.skipif(keras.backend.backend() == "jax", reason="already running on JAX")
def test_core_suite_passes_on_jax():
    """Every `core` test pytest collects under JAX runs and passes: none failed, errored or was skipped."""
    pytest.importorskip("jax")
    env = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-m", "core", "-p", "no:cacheprovider", "-rfEs"],
                          cwd=Path(__file__).parents[1], env=env, capture_output=True, text=True, timeout=900)
    print(proc.stdout[-3000:])
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]
    counts = outcome_counts(proc.stdout.strip().splitlines()[-1])
    selected = selected_count(proc.stdout)
    assert selected > 0 and counts.get("passed") == selected, (selected, counts, proc.stdout[-3000:])
    assert not {"failed", "error", "skipped", "xfailed", "xpassed"} & set(counts), (counts, proc.stdout[-3000:])
