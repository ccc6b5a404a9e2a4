"""Settings that depend on the machine: TensorFlow's CPU threads, whether to compile with XLA and which
precision to compute in.

On a 2-core AVX512-BF16 CPU, XLA made the keras-io recipe's step many times *slower* and mixed bfloat16
made it faster with the same loss curve (results/bench-train-step.json, written by bench/train_step.py). On
GPUs XLA fuses the augmentations and BN and is the norm; bfloat16 needs compute capability 8.0, and older
GPUs (a Colab T4 has 7.5) train in mixed float16 with loss scaling instead (``auto_precision``).
"""
from __future__ import annotations

import contextlib
import functools
import os
import sys
from pathlib import Path


@contextlib.contextmanager
def muted_stderr():
    """Mute file descriptor 2: TensorFlow's C++ start-up and device-probe logs go there unconditionally."""
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


@functools.lru_cache
def accelerator() -> str | None:
    """'gpu' or 'tpu' if Keras' backend sees one, else None."""
    from .backends import keras

    with muted_stderr():
        if keras.backend.backend() == "jax":
            import jax

            return next((d.platform for d in jax.devices() if d.platform != "cpu"), None)
        import tensorflow as tf

        return "gpu" if tf.config.list_physical_devices("GPU") else None


def resolve_jit(setting):
    """``"auto"``: XLA with JAX (which compiles everything anyway) or on an accelerator; not on a TF CPU."""
    from .backends import keras

    if setting != "auto":
        return bool(setting)
    return keras.backend.backend() == "jax" or accelerator() is not None


@functools.lru_cache
def gpu_compute_capability() -> tuple[int, int] | None:
    """The first GPU's CUDA compute capability, e.g. (7, 5) for a Colab T4; None without a GPU or where the
    backend does not report one."""
    from .backends import keras

    if accelerator() != "gpu":
        return None
    with muted_stderr():
        if keras.backend.backend() == "jax":
            import jax

            reported = next(getattr(d, "compute_capability", None) for d in jax.devices() if d.platform == "gpu")
        else:
            import tensorflow as tf

            gpu = tf.config.list_physical_devices("GPU")[0]
            reported = tf.config.experimental.get_device_details(gpu).get("compute_capability")
    try:
        major, minor = (int(x) for x in (reported.split(".") if isinstance(reported, str) else reported))
    except (TypeError, ValueError):
        return None
    return major, minor


def cpu_has_bf16() -> bool:
    """Whether the CPU computes bfloat16 natively (AVX-512 BF16), from the flags provenance records."""
    from .provenance import cpu_vectors

    return cpu_vectors() == "AVX-512 with BF16"


def auto_precision(device: str | None, capability: tuple[int, int] | None, cpu_bf16: bool) -> str:
    """What ``precision="auto"`` computes in on a ``device`` ('gpu', 'tpu' or None for the CPU).

    bfloat16 where the hardware computes it natively: TPUs, GPUs of compute capability 8.0 (Ampere) or newer
    (and GPUs that do not report one), CPUs with AVX512-BF16. Older GPUs, such as Colab's free T4 (7.5), have
    no bfloat16 units but fast float16 ones: mixed float16, with the loss scaled so that small gradients do not
    vanish in float16 (the twin's optimizer is wrapped in Keras' ``LossScaleOptimizer``); the loss and the
    cross-correlation stay in float32 (loss.py). Other CPUs: float32.
    """
    if device == "tpu":
        return "mixed_bfloat16"
    if device == "gpu":
        return "mixed_bfloat16" if capability is None or capability >= (8, 0) else "mixed_float16"
    return "mixed_bfloat16" if cpu_bf16 else "float32"


def resolve_precision(setting: str) -> str:
    """The dtype policy a ``precision`` setting means on this machine (``auto_precision`` for "auto")."""
    if setting != "auto":
        return setting
    return auto_precision(accelerator(), gpu_compute_capability(), cpu_has_bf16())


ONEDNN_VARIABLE = "TF_ENABLE_ONEDNN_OPTS"


def enable_onednn(environ=os.environ, machine: str | None = None) -> bool:
    """Turn on TensorFlow's oneDNN kernels on an x86-64 CPU where the user has not chosen (``TF_ENABLE_ONEDNN_OPTS``
    unset); True where this set it. Must run before TensorFlow is imported.

    On Linux, TensorFlow turns them on by itself only on CPUs with AVX-512 VNNI or BF16, AVX-VNNI or AMX; on the others
    (AVX2 only: AMD Zen 2 and 3, older Intel laptops) it runs Eigen's convolutions, whose gradients are far slower
    on a network as narrow as the `cpu` recipe's: results/bench-cpu-profile-avx2.json sets its training path with
    and without oneDNN side by side on such a CPU. Where TensorFlow already chose oneDNN nothing changes.
    ``TF_ENABLE_ONEDNN_OPTS=0`` keeps it off."""
    import platform

    machine = (machine or platform.machine()).lower()
    if ONEDNN_VARIABLE in environ or machine not in ("x86_64", "amd64"):
        return False
    environ[ONEDNN_VARIABLE] = "1"
    return True


def onednn_in_use() -> bool | None:
    """Whether TensorFlow runs its oneDNN kernels in this process (None where that cannot be read)."""
    try:
        from tensorflow.python.util import _pywrap_util_port

        return bool(_pywrap_util_port.IsMklEnabled())
    except (ImportError, AttributeError):
        return None


THREADS_VARIABLE = "BARLOW_THREADS"
TENSORFLOW_THREADS = "TensorFlow's default"  # what threads_in_use says where TensorFlow chose its own threads


def cpu_cores() -> int:
    """The cores this process may run on (a container's or ``taskset``'s share, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def cpu_threads(environ=os.environ) -> tuple[int, int] | None:
    """(intra-op, inter-op) threads for TensorFlow on a CPU, or None for TensorFlow's own choice.

    The default runs two ops side by side with half the cores each: a Barlow Twins step has two independent
    passes (one per view) of a narrow network, whose ops are too small to keep every core busy alone. On
    2 cores (intra-op 1, inter-op 2) this trained the `cpu` recipe 1.1-1.2x faster than TensorFlow's default
    on an AVX-512 Xeon (results/bench-cpu-profile.json, written by bench/cpu_profile.py); on an AVX2-only CPU
    the two were within their process-to-process spread (results/bench-cpu-profile-avx2.json).
    ``BARLOW_THREADS=intra,inter`` picks others, ``BARLOW_THREADS=tensorflow`` keeps TensorFlow's."""
    setting = environ.get(THREADS_VARIABLE, "").strip()
    if setting.lower() == "tensorflow":
        return None
    if not setting:
        return max(1, cpu_cores() // 2), 2
    try:
        intra, inter = (int(x) for x in setting.split(","))
        if intra < 1 or inter < 1:
            raise ValueError
    except ValueError:
        from .errors import BarlowError

        raise BarlowError(f"{THREADS_VARIABLE}={setting!r} is not a thread setting.",
                          f"set {THREADS_VARIABLE}=INTRA,INTER with two positive whole numbers (e.g. 1,2), or "
                          f"{THREADS_VARIABLE}=tensorflow for TensorFlow's own choice") from None
    return intra, inter


def set_cpu_threads(tf) -> None:
    """Apply :func:`cpu_threads` to TensorFlow before its first op, on a machine without a GPU (records read
    what runs with :func:`threads_in_use`).
    Where TensorFlow already ran an op (Keras imported first in a notebook), its threads are left as they are."""
    threads = cpu_threads()
    if threads is not None and not tf.config.list_physical_devices("GPU"):
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads[0])
            tf.config.threading.set_inter_op_parallelism_threads(threads[1])
        except RuntimeError:  # TensorFlow is initialised: the setting can no longer change
            pass


def threads_in_use(tf) -> str:
    intra = tf.config.threading.get_intra_op_parallelism_threads()
    inter = tf.config.threading.get_inter_op_parallelism_threads()
    if intra == inter == 0:
        return TENSORFLOW_THREADS
    return f"intra-op {intra or 'default'}, inter-op {inter or 'default'}"


_ROOF_CODE = """
import sys, time
sys.path.insert(0, {library!r})
from barlow_lib.backends import keras
a = keras.ops.cast(keras.random.normal(({n}, {n}), seed=0), {dtype!r})
keras.ops.convert_to_numpy(keras.ops.matmul(a, a))  # warm-up
best = float("inf")
for _ in range(3):
    t = time.perf_counter()
    keras.ops.convert_to_numpy(keras.ops.matmul(a, a))
    best = min(best, time.perf_counter() - t)
print(2 * {n} ** 3 / best / 1e9)
"""


def matmul_roof(dtype: str = "float32", n: int = 2048) -> float:
    """GFLOP/s of one large matrix product, the fastest of 3, with every core on the one op (the backend's own
    threads): the practical ceiling of this machine for ``dtype``. Measured in a fresh process, because a
    process's threads are fixed when TensorFlow starts (:func:`cpu_threads`) and a one-thread process would
    measure a one-core roof. Records carry it beside their training time, so a reader can scale the time to
    their own machine's roof."""
    import subprocess

    code = _ROOF_CODE.format(library=str(Path(__file__).parents[1]), n=n, dtype=dtype)
    env = os.environ | {THREADS_VARIABLE: "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


CHECKPOINT_SECONDS = 60.0  # on accelerators: a keras-io checkpoint is ~0.9 GB, an H200 epoch ~1.5 s


def checkpoint_interval(setting: float | None = None) -> float:
    """Seconds between checkpoints: ``setting``, else every epoch on a CPU (epochs take longer than a save)
    and at most once a minute on an accelerator, where writing one every epoch would cost more than the epoch."""
    if setting is not None:
        return float(setting)
    return 0.0 if accelerator() is None else CHECKPOINT_SECONDS
