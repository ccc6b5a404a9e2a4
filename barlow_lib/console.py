"""Where progress goes: a bar that redraws in place on a terminal or in a notebook, one line per epoch in a log.

A terminal gets tqdm's bar (carriage-return frames drawn over each other). A notebook gets one display that is
updated in place (``update_display_data``): it moves while a reader watches, and an executed notebook keeps
only its last state, so the built book shows one line, not every frame. A log file (``barlow-twins train ...
> log``, ``nohup``, CI) gets no bar at all, only the trainer's line per epoch.
"""
from __future__ import annotations

import sys
import time

from tqdm import tqdm


def in_notebook(stream=None) -> bool:
    """Whether ``stream`` (default: stdout) is a Jupyter kernel's output."""
    stream = stream or sys.stdout
    return "ipykernel" in sys.modules and type(stream).__module__.startswith("ipykernel")


def redraws(stream=None) -> bool:
    """Whether ``stream`` (default: stdout) shows a bar in place: a terminal, or a Jupyter kernel's output."""
    stream = stream or sys.stdout
    try:
        if stream.isatty():
            return True
    except (AttributeError, ValueError):  # closed or not a file
        return False
    return in_notebook(stream)


class NotebookBar:
    """tqdm's bar as text in one notebook display, redrawn at most every ``interval`` seconds and at the end."""

    def __init__(self, total: int, desc: str, unit: str = "it", interval: float = 1.0):
        from IPython.display import display

        self.total, self.desc, self.unit, self.interval = total, desc, unit, interval
        self.n, self.postfix, self.start, self.drawn = 0, "", time.time(), 0.0
        self.handle = display(self._text(), display_id=True)

    def _text(self):
        from IPython.display import Pretty

        return Pretty(tqdm.format_meter(self.n, self.total, time.time() - self.start, prefix=self.desc,
                                        unit=self.unit, postfix=self.postfix or None, ncols=100))

    def update(self, n: int = 1):
        self.n += n
        if time.time() - self.drawn >= self.interval or self.n >= self.total:
            self.handle.update(self._text())
            self.drawn = time.time()

    def set_postfix(self, refresh: bool = True, **values):
        self.postfix = ", ".join(f"{k}={v}" for k, v in values.items())

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.handle.update(self._text())


def bar(total: int, desc: str, unit: str, shown: bool):
    """A progress bar for this process's stdout: a notebook display, tqdm on a terminal, nothing in a log."""
    if shown and in_notebook(sys.stdout):
        return NotebookBar(total, desc, unit)
    return tqdm(total=total, desc=desc, unit=unit, file=sys.stdout, disable=not (shown and redraws(sys.stdout)),
                mininterval=1.0)
