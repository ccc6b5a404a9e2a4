"""Show the library's own code on a page: one source, zero drift (the chapter never copies it)."""
from __future__ import annotations

import inspect


def show(*objects):
    """The source of functions or classes, highlighted, as the library has it now."""
    from IPython.display import Code

    return Code("\n\n".join(inspect.getsource(o) for o in objects), language="python")
