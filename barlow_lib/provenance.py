"""Where a number came from: code commit, hardware, software, time."""
from __future__ import annotations

import datetime
import os
import platform
import subprocess
from pathlib import Path


RESULTS_ARE_DATA = ":(top,exclude)results/"


def git_commit(cwd=None) -> str:
    """The code's commit (+dirty if tracked files changed); BARLOW_COMMIT where there is no .git (a copied tree).
    The repository's ``results/`` folder is data, not code: a chain of commands adding to one result file, or a
    record written beside other results not yet committed, measured the commit's code all the same."""
    if os.environ.get("BARLOW_COMMIT"):
        return os.environ["BARLOW_COMMIT"]
    cwd = cwd or Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=cwd, capture_output=True, text=True,
                             timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", RESULTS_ARE_DATA],
                               cwd=cwd, capture_output=True, text=True, timeout=5).stdout.strip()
        return out.stdout.strip() + ("+dirty" if dirty else "") if out.returncode == 0 else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_vectors(cpuinfo: str | None = None) -> str | None:
    """The widest vector instructions the CPU has ("AVX-512 with BF16", "AVX-512", "AVX2"), from
    /proc/cpuinfo's flags: one model name ("AMD EPYC") covers CPUs with and without AVX-512, whose speeds differ
    twofold on these networks. None where the flags cannot be read."""
    try:
        text = Path("/proc/cpuinfo").read_text() if cpuinfo is None else cpuinfo
    except OSError:
        return None
    flags = next((set(line.split(":", 1)[1].split()) for line in text.splitlines() if line.startswith("flags")),
                 None)
    if flags is None:
        return None
    if "avx512f" in flags:
        return "AVX-512 with BF16" if "avx512_bf16" in flags else "AVX-512"
    return "AVX2" if "avx2" in flags else "no AVX2"


def accelerators() -> list[str]:
    from .backends import keras

    try:
        if keras.backend.backend() == "jax":
            import jax

            return [d.device_kind for d in jax.devices() if d.platform != "cpu"]
        import tensorflow as tf

        return [tf.config.experimental.get_device_details(g).get("device_name", g.name)
                for g in tf.config.list_physical_devices("GPU")]
    except Exception:
        return []


def collect() -> dict:
    from .backends import keras

    return {
        "commit": git_commit(),
        "time_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "cpu": cpu_name(),
        "cpu_count": os.cpu_count(),
        "cpu_vectors": cpu_vectors(),
        "accelerators": accelerators(),
        "python": platform.python_version(),
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "threads": _threads(keras),
        "onednn": _onednn(keras),
        "load_average": _load_average(),
    }


def _threads(keras) -> str | None:
    """TensorFlow's intra-op and inter-op threads (``hardware.cpu_threads``); None on other backends."""
    if keras.backend.backend() != "tensorflow":
        return None
    import tensorflow as tf

    from .hardware import threads_in_use

    return threads_in_use(tf)


def _onednn(keras) -> bool | None:
    """Whether TensorFlow runs its oneDNN kernels (``hardware.enable_onednn``); None on other backends."""
    if keras.backend.backend() != "tensorflow":
        return None
    from .hardware import onednn_in_use

    return onednn_in_use()


def _load_average() -> float | None:
    """Runnable processes over the last minute: a speed measured beside other work reads slower."""
    try:
        return round(os.getloadavg()[0], 2)
    except (OSError, AttributeError):
        return None


def describe(p: dict) -> str:
    """One line a reader can check: hardware, code, software, time."""
    vectors = f", {p['cpu_vectors']}" if p.get("cpu_vectors") else ""  # older files: not recorded
    hw = ", ".join(p.get("accelerators") or []) or f"{p.get('cpu')} ({p.get('cpu_count')} cores{vectors})"
    load = f"; load {p['load_average']}" if p.get("load_average") is not None else ""
    onednn = {True: " (oneDNN on)", False: " (oneDNN off)"}.get(p.get("onednn"), "")  # older files: not recorded
    return (f"{hw}; commit {p.get('commit')}; Keras {p.get('keras')} on {p.get('backend')}{onednn}; "
            f"{p.get('time_utc')}{load}")
