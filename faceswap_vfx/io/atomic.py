"""Atomic writes: a temporary file beside the target, then a rename.

A process killed half-way leaves at most a ``.<name>.<random>.tmp`` file, never a
half-written file under the final name, so a farm retry sees the frame as missing.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from faceswap_vfx.errors import OutputNotWritableError, PlateWriteError


def ensure_writable_dir(folder: str | Path, *, frame: int | None = None) -> Path:
    """Make ``folder`` (and parents) if needed; raise :class:`OutputNotWritableError` if it can't
    be made or written to."""
    folder = Path(folder) if str(folder) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputNotWritableError(f"cannot create output folder: {exc.strerror}",
                                     path=folder, frame=frame) from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputNotWritableError("output folder is not writable", path=folder, frame=frame)
    return folder


@contextlib.contextmanager
def atomic_path(target: str | Path, *, frame: int | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success rename it onto ``target``.

    On any exception the temporary file is removed and ``target`` is left as it was.
    The temporary name keeps the target's extension (image writers pick the format by it).
    """
    target = Path(target)
    folder = ensure_writable_dir(target.parent, frame=frame)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".tmp{target.suffix}",
                                    dir=folder)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        try:
            os.chmod(tmp, 0o666 & ~_umask())
            os.replace(tmp, target)
        except OSError as exc:
            raise PlateWriteError(f"cannot move finished file into place: {exc.strerror}",
                                  path=target, frame=frame) from None
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_text(target: str | Path, text: str) -> None:
    """Write a text file atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(text)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
