"""The one place that decides which Keras backends the library runs on: TensorFlow (the CPU default) and JAX.

Every module imports Keras through here (``from .backends import keras, ops``), so an unsupported
backend is refused with an `error:`/`fix:` pair before Keras loads it, instead of failing later with a
``ModuleNotFoundError`` from deep inside. Keras picks its backend from ``KERAS_BACKEND``, else from the
``backend`` entry of ``$KERAS_HOME/keras.json`` (``~/.keras/keras.json``), else TensorFlow; so does
:func:`selected`, without importing Keras.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from .errors import BarlowError

SUPPORTED = ("tensorflow", "jax")


def selected() -> str:
    """The backend Keras will load (or has loaded), read the way Keras reads it."""
    import sys

    if "keras" in sys.modules and hasattr(sys.modules["keras"], "backend"):
        return sys.modules["keras"].backend.backend()
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"]
    home = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras")
    try:
        return json.loads((home / "keras.json").read_text()).get("backend") or "tensorflow"
    except (OSError, ValueError, AttributeError):
        return "tensorflow"


def require() -> str:
    """The selected backend, or a BarlowError naming the supported ones."""
    name = selected()
    if name not in SUPPORTED:
        source = "KERAS_BACKEND" if os.environ.get("KERAS_BACKEND") else "keras.json"
        raise BarlowError(f"Keras backend {name!r} (from {source}) is not supported: barlow_lib runs on "
                          f"{' and '.join(SUPPORTED)} (TensorFlow is the fastest on a CPU).",
                          "set KERAS_BACKEND=tensorflow (or jax) before Python starts, e.g. "
                          "`KERAS_BACKEND=tensorflow barlow-twins ...`, or `os.environ['KERAS_BACKEND'] = "
                          "'tensorflow'` in a notebook's first cell before anything imports Keras")
    return name


def _load_quietly():
    """Import Keras, and on TensorFlow turn on oneDNN (hardware.enable_onednn), set its CPU threads
    (hardware.cpu_threads) and run its first op, with file descriptor 2 muted: TensorFlow's C++ start-up lines
    (absl, oneDNN, the CUDA probe) ignore TF_CPP_MIN_LOG_LEVEL since 2.21, and would be the first thing a reader
    sees in a terminal or a notebook. A failing import still raises, after the mute."""
    import sys

    from .hardware import cpu_threads, enable_onednn, muted_stderr, set_cpu_threads  # no Keras here

    if selected() == "tensorflow":
        cpu_threads()  # a bad BARLOW_THREADS is refused before Keras takes seconds to load
        if "tensorflow" not in sys.modules:  # read once, as TensorFlow loads
            enable_onednn()
    with muted_stderr():
        import keras

        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            set_cpu_threads(tf)  # before the first op, which fixes them
            tf.constant(0)  # TF probes its devices (and logs about CUDA) at the first op


require()
_load_quietly()

import keras  # noqa: E402,F401  (after the check: Keras imports its backend as it loads)
from keras import ops  # noqa: E402,F401
