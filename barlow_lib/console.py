"""Where progress goes: a bar that redraws in place on a terminal or in a notebook, one line per epoch in a log.

A bar writes a carriage-return frame every second; a terminal or a notebook's output area draws the frames
over each other, but a log file (``barlow-twins train ... > log``, ``nohup``, CI) would keep every frame.
"""
from __future__ import annotations

import sys


def redraws(stream=None) -> bool:
    """Whether ``stream`` (default: stdout) shows a bar in place: a terminal, or a Jupyter kernel's output."""
    stream = stream or sys.stdout
    try:
        if stream.isatty():
            return True
    except (AttributeError, ValueError):  # closed or not a file
        return False
    return "ipykernel" in sys.modules and type(stream).__module__.startswith("ipykernel")
