"""Shared by the bench scripts: timing, a printed table, and a result file with provenance."""
from __future__ import annotations

import json
import os
import shlex
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
from barlow_lib.hardware import enable_onednn  # noqa: E402  (the standard library only: TensorFlow not loaded)

enable_onednn()  # as importing barlow_lib does: the bench scripts import TensorFlow before the library


def command_line(script: str) -> str:
    """This process's command line as a shell runs it again (arguments with spaces or quotes quoted)."""
    return "python " + shlex.join([script, *sys.argv[1:]])


def run_locked(work, fn):
    """Run ``fn()`` holding the lock of the run folder ``work`` (made if missing); bad input or a second process
    on the same folder gets ``error:`` and ``fix:`` lines and exit status 2, never a traceback."""
    from barlow_lib import lock
    from barlow_lib.errors import BarlowError

    try:
        Path(work).mkdir(parents=True, exist_ok=True)
        with lock.exclusive(work):
            fn()
    except BarlowError as err:
        print(f"error: {err.problem}", file=sys.stderr)
        if err.fix:
            print(f"  fix: {err.fix}", file=sys.stderr)
        sys.exit(2)


def best_time(fn, repeats: int = 3, warmup: int = 1) -> float:
    """Seconds of the fastest of ``repeats`` calls, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def print_table(rows: list[dict]):
    from barlow_lib import tables

    print(tables.markdown(rows, 4))


def write_result(path, title: str, rows: list[dict], summary: dict, started: float, **extra):
    from barlow_lib import files, provenance

    result = {"title": title, "rows": rows, "summary": summary,
              "command": command_line(Path(sys.argv[0]).as_posix()),
              "provenance": provenance.collect(), "wall_seconds": round(time.perf_counter() - started, 1), **extra}
    print_table(rows)
    from barlow_lib import tables

    for k, v in summary.items():
        print(f"{k}: {tables.number(v, 4)}")
    if path:  # whole or not at all: a run killed while writing leaves the previous file as it was
        text = json.dumps(result, indent=1) + "\n"
        files.atomic_write(path, lambda tmp: Path(tmp).write_text(text))
        print("wrote", path)
    return result
