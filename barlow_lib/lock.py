"""An exclusive lock on a run directory, held by the one process that trains it.

The lock is ``fcntl.flock`` on ``RUN_DIR/.lock``: the kernel releases it when its process ends, however
it ends, so a killed run never blocks the next one. The file names its holder (host, process id, start
time) for the message a second process prints. Where a filesystem does not support ``flock`` (some network
and FUSE mounts), the lock falls back to creating the file exclusively, and a lock file whose process no
longer runs on this host is taken over.
"""
from __future__ import annotations

import contextlib
import datetime
import errno
import json
import os
import socket
from pathlib import Path

from .errors import BarlowError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None


def _holder() -> dict:
    return {"host": socket.gethostname(), "pid": os.getpid(),
            "since": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


def _describe(path: Path) -> str:
    try:
        h = json.loads(path.read_text())
        return f"process {h['pid']} on {h['host']}, since {h['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


def _busy(folder: Path, path: Path) -> BarlowError:
    return BarlowError(f"{folder} is being trained right now by {_describe(path)}.",
                       "wait for that run to finish (or stop it), or train into another folder")


def _alive(holder: dict) -> bool:
    if holder.get("host") != socket.gethostname():
        return True  # cannot tell: assume it runs
    try:
        return process_alive(int(holder["pid"]))
    except (ValueError, KeyError):
        return True


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this machine (True where that cannot be told)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


@contextlib.contextmanager
def exclusive(folder) -> None:
    """Hold the run directory's lock for the duration of the ``with`` block."""
    folder = Path(folder)
    path = folder / ".lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    exclusive_file = False
    try:
        try:
            if fcntl is None:
                raise OSError(errno.ENOLCK, "no fcntl")
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _busy(folder, path) from None
        except OSError:  # flock unsupported here: an exclusively created second file marks the holder
            exclusive_file = True
            _take_file_lock(folder)
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps(_holder()).encode())
        yield
    finally:
        if exclusive_file:
            (folder / ".lock.held").unlink(missing_ok=True)
        os.close(fd)  # releases the flock


def _take_file_lock(folder: Path):
    held = folder / ".lock.held"
    for _ in range(2):
        try:
            fd = os.open(held, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            try:
                holder = json.loads(held.read_text())
            except (OSError, ValueError):
                holder = {}
            if holder and _alive(holder):
                raise _busy(folder, held) from None
            held.unlink(missing_ok=True)  # its process is gone: a stale lock
            continue
        os.write(fd, json.dumps(_holder()).encode())
        os.close(fd)
        return
    raise _busy(folder, held)
