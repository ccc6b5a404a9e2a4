"""Files that survive SIGKILL, full disks and read-only folders.

Every file is written to a temporary name in the same folder, flushed to disk and then renamed over the
old one: a kill at any moment leaves either the old complete file or the new complete one, never half of
one. A write that fails (no space, no permission) removes its temporary file and raises a ``BarlowError``
that names the file; a killed process's temporary files are removed by ``remove_temp_files``.
"""
from __future__ import annotations

import errno
import json
import os
from pathlib import Path

from .errors import BarlowError

TEMP_MARK = ".tmp"  # temporary names: .<stem>.tmp<pid><suffix>


def write_error(path, exc: OSError) -> BarlowError:
    """A failed write (or folder creation) as one problem and one fix."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        fix = "free some space on that disk (or choose a folder on another one) and run the same command again"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        fix = "make the folder writable, or choose a writable one"
    elif exc.errno in (errno.ENOTDIR, errno.EEXIST):
        fix = "choose a folder path that is not a file"
    else:
        fix = "check the disk and the folder, then run the same command again"
    return BarlowError(f"could not write {path}: {exc.strerror or exc}.", fix)


def atomic_write(path, write) -> Path:
    """Call ``write(tmp_path)`` and then rename tmp_path over ``path``."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}{TEMP_MARK}{os.getpid()}{path.suffix}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise write_error(path, exc) from exc
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def write_json(path, obj) -> Path:
    return atomic_write(path, lambda p: Path(p).write_text(json.dumps(obj, indent=2) + "\n"))


def read_json(path, fix: str = "restore it, or start again in a new folder"):
    """A JSON file's content; a truncated or garbled file raises a ``BarlowError`` naming it."""
    try:
        return json.loads(Path(path).read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise BarlowError(f"{path} is damaged (not valid JSON: {exc}).", fix) from exc


def remove_temp_files(folder) -> list[Path]:
    """Delete the temporary files that killed writes left in ``folder`` and its subfolders."""
    folder = Path(folder)
    found = [p for p in folder.rglob(f".*{TEMP_MARK}*") if p.is_file()] if folder.is_dir() else []
    for p in found:
        p.unlink(missing_ok=True)
    return found
