"""Atomic writes: a temporary file beside the target, then a rename.

A process killed half-way leaves at most a ``.<name>.<host>-<pid>.<random>.tmp<ext>`` file,
never a half-written file under the final name, so a farm retry sees the frame as missing;
:func:`remove_stale_temporaries` clears such leftovers on the next run of the same output.
"""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
import time
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

    On any exception the temporary file is removed and ``target`` is left as it was. A
    ``target`` without write permission bits raises :class:`OutputNotWritableError`.
    The temporary name keeps the target's extension (image writers pick the format by it).
    """
    target = Path(target)
    folder = ensure_writable_dir(target.parent, frame=frame)
    try:
        protected = not os.stat(target).st_mode & 0o222
    except OSError:
        protected = False
    if protected:  # someone locked it (a delivered frame): never replaced, even by root
        raise OutputNotWritableError("the file is write-protected (no write permission "
                                     "bits); it was left as it is", path=target, frame=frame)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.stem}.{_OWNER}.",
                                    suffix=f".tmp{target.suffix}", dir=folder)
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


_HOST = socket.gethostname().replace(".", "_").replace("-", "_") or "host"
_OWNER = f"{_HOST}-{os.getpid()}"
STALE_SECONDS = 3600.0
"""A temporary file of another host untouched this long is taken as left by a dead run."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_stale_temporaries(target: str | Path) -> list[Path]:
    """Remove the temporary files of ``target`` that a killed run left: this host's whose
    process is gone, another host's untouched for :data:`STALE_SECONDS`. Returns them.
    Those of a live run (another render of the same chunk) are left alone."""
    target = Path(target)
    removed = []
    for tmp in target.parent.glob(f".{target.stem}.*.tmp{target.suffix}"):
        owner = tmp.name[len(target.stem) + 2:].split(".", 1)[0]
        host, _, pid = owner.rpartition("-")
        try:
            if host == _HOST and pid.isdigit():
                stale = not _alive(int(pid))
            else:
                stale = time.time() - tmp.stat().st_mtime > STALE_SECONDS
            if stale:
                tmp.unlink()
                removed.append(tmp)
        except OSError:  # gone meanwhile, or not ours to remove: leave it
            continue
    return removed


def atomic_write_text(target: str | Path, text: str) -> None:
    """Write a text file atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(text)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
