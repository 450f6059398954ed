"""Keep what one thread prints off stdout, leaving every other thread's output alone.

OpenEXR's Python API prints a warning on ``sys.stdout`` for a part it cannot decode
(truncated, corrupt), which would land in the middle of a program's output (JSON, farm
progress lines). :func:`caught_prints` catches it on the decoding thread only, unlike
``contextlib.redirect_stdout``, which takes every thread's output.

``sys.stdout`` is replaced once, by :func:`install` (called when this module is first
imported and by the command line before it starts any thread), with a :class:`ThreadStdout`
that is never taken away again. Catching then only registers a buffer for the calling
thread. Swapping ``sys.stdout`` back and forth while other threads print is what this
design rules out: in CPython 3.11 ``print()`` holds ``sys.stdout`` without a reference, so a
swap from another thread could free the object it was writing to (renders crashed so).
"""

from __future__ import annotations

import contextlib
import io
import sys
import threading
from collections.abc import Iterator
from typing import Any, TextIO

_lock = threading.Lock()


class ThreadStdout:
    """Stands in for ``sys.stdout`` for good: writes of a catching thread go to its
    innermost buffer, all else to the stream it replaced."""

    def __init__(self, real: TextIO):
        self.real = real
        self.caught: dict[int, list[io.StringIO]] = {}  # thread id -> buffers, innermost last

    def write(self, text: str) -> int:
        buffers = self.caught.get(threading.get_ident())
        return (buffers[-1] if buffers else self.real).write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def install() -> ThreadStdout | None:
    """Make ``sys.stdout`` a :class:`ThreadStdout` unless it is one (call before starting
    threads that print); returns it, or None where there is no stdout (pythonw)."""
    with _lock:
        if sys.stdout is None:
            return None
        if not isinstance(sys.stdout, ThreadStdout):
            sys.stdout = ThreadStdout(sys.stdout)
        return sys.stdout


@contextlib.contextmanager
def caught_prints() -> Iterator[io.StringIO]:
    """Within the block, what this thread prints goes to the yielded buffer.

    Where something else has replaced ``sys.stdout`` since :func:`install` (a test's
    capture, ``contextlib.redirect_stdout``), nothing is caught: the buffer stays empty and
    the prints go where that replacement sends them; ``sys.stdout`` is never swapped here.
    """
    caught = io.StringIO()
    router = sys.stdout
    if not isinstance(router, ThreadStdout):
        yield caught
        return
    me = threading.get_ident()
    with _lock:
        router.caught.setdefault(me, []).append(caught)
    try:
        yield caught
    finally:
        with _lock:
            router.caught[me].pop()
            if not router.caught[me]:
                del router.caught[me]


install()
