"""Keep what one thread prints off stdout, leaving every other thread's output alone.

OpenEXR's Python API prints a warning on ``sys.stdout`` for a part it cannot decode
(truncated, corrupt), which would land in the middle of a program's output (JSON, farm
progress lines). :func:`caught_prints` catches it on the decoding thread only, unlike
``contextlib.redirect_stdout``, which takes every thread's output.
"""

from __future__ import annotations

import contextlib
import io
import sys
import threading
from collections.abc import Iterator
from typing import Any, TextIO

_lock = threading.Lock()
_router: _Router | None = None


class _Router:
    """Stands in for ``sys.stdout``: writes of a catching thread go to its innermost
    buffer, all else to the stdout it replaced."""

    def __init__(self, real: TextIO):
        self.real = real
        self.caught: dict[int, list[io.StringIO]] = {}  # thread id -> buffers, innermost last

    def write(self, text: str) -> int:
        buffers = self.caught.get(threading.get_ident())
        return (buffers[-1] if buffers else self.real).write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


@contextlib.contextmanager
def caught_prints() -> Iterator[io.StringIO]:
    """Within the block, what this thread prints goes to the yielded buffer."""
    global _router
    caught = io.StringIO()
    me = threading.get_ident()
    with _lock:
        if _router is None or sys.stdout is not _router:
            _router = _Router(sys.stdout)
            sys.stdout = _router
        router = _router
        router.caught.setdefault(me, []).append(caught)
    try:
        yield caught
    finally:
        with _lock:
            router.caught[me].pop()
            if not router.caught[me]:
                del router.caught[me]
            if not router.caught and sys.stdout is router:
                sys.stdout = router.real
                _router = None
