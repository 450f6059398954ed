"""Frame-sized arrays of which a render writes only a small part (the ``faceswap.mask``
channel: zeros but for the face's ROI).

A fresh large allocation is mapped lazily: each page costs a fault and is zeroed by the
kernel when first written. numpy asks for transparent huge pages for its large arrays, so
one write into a 2 MiB page has the kernel zero all of it; the ROI of a 900 px face on a
4096 px wide half-float channel spans ~8 MiB of rows and cost 17-31 ms of faults a frame
in the render (5-10 ms in 4 KiB pages), where the same write into memory already mapped
takes 0.6 ms. Pages never written read as zeros without being allocated at all.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import mmap
import sys

import numpy as np

log = logging.getLogger(__name__)

_HUGE_PAGE = 2 << 20
_NO_HUGE_PAGES = getattr(mmap, "MADV_NOHUGEPAGE", None)  # Linux only


def zeros_for_sparse_writes(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """``np.zeros(shape, dtype)`` whose pages, on Linux, are 4 KiB ones: writing a small
    region zeroes only the pages it touches. Elsewhere, or when the kernel refuses, plain
    ``np.zeros``. The values are the same either way."""
    out = np.zeros(shape, dtype)
    if _NO_HUGE_PAGES is None or out.nbytes < _HUGE_PAGE or not sys.platform.startswith("linux"):
        return out
    page = mmap.PAGESIZE
    start = -(-out.ctypes.data // page) * page
    end = (out.ctypes.data + out.nbytes) // page * page
    if _madvise(start, end - start, _NO_HUGE_PAGES) != 0:
        log.debug("madvise(MADV_NOHUGEPAGE) refused: errno %d", ctypes.get_errno())
    return out


def _madvise(address: int, length: int, advice: int) -> int:
    libc = _libc()
    return -1 if libc is None else libc.madvise(address, length, advice)


@functools.cache
def _libc() -> ctypes.CDLL | None:
    try:
        lib = ctypes.CDLL(None, use_errno=True)
        lib.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        lib.madvise.restype = ctypes.c_int
    except (OSError, AttributeError):
        return None
    return lib
