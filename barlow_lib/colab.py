"""What a chapter's set-up cell says after installing the library into a running Colab (or Jupyter) kernel.

``pip install`` upgrades only what the library's floors require (pip's default, "only if needed"), but a
package the kernel had already imported keeps running its old version until the runtime restarts: Colab
preloads some. This compares each such module's version with the one now installed and says whether a
restart is needed, and which packages the install changed.
"""
from __future__ import annotations

import sys
from importlib import metadata

WATCHED = ("keras", "tensorflow", "numpy", "jax")  # each module has the name of its distribution


def stale_modules() -> dict:
    """{module: (version running, version installed)} for imported modules whose installed version changed."""
    out = {}
    for module in WATCHED:
        loaded = sys.modules.get(module)
        if loaded is None or not hasattr(loaded, "__version__"):
            continue
        try:
            installed = metadata.version(module)
        except metadata.PackageNotFoundError:
            continue
        if installed != loaded.__version__:
            out[module] = (loaded.__version__, installed)
    return out


def check_restart() -> bool:
    """Print whether the runtime must restart before the chapter runs; True when it must."""
    stale = stale_modules()
    if not stale:
        return False
    changes = ", ".join(f"{m} {old} -> {new}" for m, (old, new) in stale.items())
    print(f"The install upgraded {changes}, which this runtime had already imported.\n"
          "Restart the runtime (Colab: Runtime > Restart session), then run the notebook again from the top: "
          "the set-up cell will not install twice.")
    return True
