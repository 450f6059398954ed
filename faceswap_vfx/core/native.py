"""Find and load the optional compiled kernels (plain C shared libraries built by setup.py
as optional extensions, called through ctypes; nothing is imported as a Python module).

A kernel that was not built (no compiler at install time), does not load, or reports
another ABI version than its binding expects is simply absent: :func:`load` returns None
and the caller keeps its torch path.
"""

from __future__ import annotations

import ctypes
import functools
import importlib.machinery
import importlib.util
from pathlib import Path


def _candidates(name: str) -> list[Path]:
    """Where the built library ``name`` may be: as the import system finds the extension
    (also through editable-install finders), then beside this file."""
    paths = []
    try:
        spec = importlib.util.find_spec(f"{__package__}.{name}")
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.origin:
        paths.append(Path(spec.origin))
    here = Path(__file__).resolve().parent
    paths += [here / (name + suffix) for suffix in importlib.machinery.EXTENSION_SUFFIXES]
    return paths


@functools.cache
def load(name: str, abi_symbol: str, abi_version: int) -> ctypes.CDLL | None:
    """The library ``name`` (e.g. ``"_warp_kernel"``) whose ``int abi_symbol(void)``
    returns ``abi_version``, or None."""
    for path in _candidates(name):
        if not path.is_file():
            continue
        try:
            lib = ctypes.CDLL(str(path))
            if getattr(lib, abi_symbol)() == abi_version:
                return lib
        except (OSError, AttributeError):
            continue
    return None
