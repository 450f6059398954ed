"""ctypes binding of the compiled Keys bicubic warp (``_warp_kernel.c``, built by setup.py as
an optional extension): about 6x faster on one core than the torch path of
:mod:`faceswap_vfx.core.warp`, and split over torch's thread count (ctypes releases the
GIL). Same arithmetic, so results equal the torch path's to float32 rounding. Also the
warp's coverage (:func:`cover`), computed from the matrix rather than by warping ones.

When the library is missing :func:`supports` is False and the warp keeps its torch path.
"""

from __future__ import annotations

import ctypes
import os
from concurrent.futures import ThreadPoolExecutor
from functools import cache

import numpy as np
import torch
import torch.nn.functional as F

from faceswap_vfx.core.native import load

_ROWS_PER_TASK = 32  # fewer rows than this are not worth a thread
_PAD = 4  # PAD in _warp_kernel.c


@cache
def _library() -> ctypes.CDLL | None:
    lib = load("_warp_kernel", "warp_abi_version", 2)
    if lib is not None:
        ptr, long_ = ctypes.c_void_p, ctypes.c_long
        lib.fsv_warp_keys.restype = lib.fsv_warp_cover.restype = None
        lib.fsv_warp_keys.argtypes = [ptr, long_, long_, ptr, ptr, long_, long_, long_, long_,
                                      long_]
        lib.fsv_warp_cover.argtypes = [long_, long_, ptr, ptr, long_, long_, long_]
    return lib


_workers: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    """The threads the rows are split over, made on first use."""
    global _workers
    if _workers is None:
        _workers = ThreadPoolExecutor(max_workers=os.cpu_count() or 1,
                                      thread_name_prefix="faceswap_vfx-warp")
    return _workers


def _forget_pool() -> None:
    """In a forked child (e.g. a DataLoader worker) the parent's threads do not exist: a
    pool inherited from it would wait for them forever, so the child makes its own."""
    global _workers
    _workers = None


os.register_at_fork(after_in_child=_forget_pool)


def available() -> bool:
    """Whether the compiled warp was built and loads."""
    return _library() is not None


def supports(image: torch.Tensor) -> bool:
    """Whether :func:`warp_keys` takes ``image``: float32 on the CPU, no gradient wanted,
    the library built. FACESWAP_VFX_WARP=torch turns the kernel off."""
    return (image.dtype == torch.float32 and image.device.type == "cpu"
            and not (torch.is_grad_enabled() and image.requires_grad)
            and os.environ.get("FACESWAP_VFX_WARP", "") != "torch" and available())


def _split_rows(h: int, rows) -> None:
    """``rows(r0, r1)`` over the output rows ``0 .. h``, in bands over torch's threads."""
    tasks = max(1, min(torch.get_num_threads(), h // _ROWS_PER_TASK))
    if tasks == 1:
        rows(0, h)
        return
    bounds = np.linspace(0, h, tasks + 1).astype(int)
    list(_pool().map(rows, bounds[:-1], bounds[1:]))


def _packed(image: torch.Tensor, padding: str) -> list[tuple[torch.Tensor, int, int]]:
    """Each batch item's channels in groups of up to 4, as (H + 8, W + 8, 4) float32 with
    4 pixels of padding (zeros or edge pixels): ``(grid, item, first channel)``."""
    padded = F.pad(image, (_PAD,) * 4, mode="constant" if padding == "zeros" else "replicate")
    b, c, hp, wp = padded.shape
    out = []
    for i in range(b):
        for c0 in range(0, c, 4):
            n = min(4, c - c0)
            grid = padded.new_zeros((hp, wp, 4))
            grid[..., :n] = padded[i, c0:c0 + n].permute(1, 2, 0)
            out.append((grid, i, c0))
    return out


def warp_keys(image: torch.Tensor, src_from_dst: np.ndarray, out_size: tuple[int, int],
              padding: str) -> torch.Tensor:
    """Keys bicubic (a = -0.5) resampling of (B, C, H, W) float32 CPU ``image`` at the
    source points ``src_from_dst @ [j + 0.5, i + 0.5, 1]`` of an ``out_size`` (h, w)
    output; ``src_from_dst``: (B, 3, 3) affine. padding: ``"zeros"`` or ``"border"``.
    Returns (B, C, h, w) float32, contiguous."""
    lib = _library()
    if lib is None:
        raise RuntimeError("the warp kernel is not built")
    b, c, height, width = image.shape
    h, w = out_size
    out = torch.empty((b, c, h, w), dtype=torch.float32)
    for grid, i, c0 in _packed(image, padding):
        m = np.ascontiguousarray(src_from_dst[i, :2], dtype=np.float64)
        dst = out[i, c0:]
        n = min(4, c - c0)

        def rows(r0: int, r1: int, grid=grid, m=m, dst=dst, n=n) -> None:
            lib.fsv_warp_keys(grid.data_ptr(), height, width, m.ctypes.data, dst.data_ptr(),
                              n, h, w, r0, r1)

        _split_rows(h, rows)
    return out


def cover(src_from_dst: np.ndarray, src_size: tuple[int, int], out_size: tuple[int, int]
          ) -> torch.Tensor:
    """(1, 1, h, w) float32 CPU: 1 where a bilinear warp of a ``src_size`` (H, W) image by
    the (3, 3) affine ``src_from_dst`` reads only the image (in-image tap weights > 0.999),
    else 0: the same as warping an image of ones with zeros outside (antialiased or not:
    a blurred constant stays constant) and thresholding it, computed from the matrix."""
    lib = _library()
    if lib is None:
        raise RuntimeError("the warp kernel is not built")
    h, w = out_size
    out = torch.empty((1, 1, h, w), dtype=torch.float32)
    m = np.ascontiguousarray(np.asarray(src_from_dst, np.float64)[:2])
    _split_rows(h, lambda r0, r1: lib.fsv_warp_cover(int(src_size[0]), int(src_size[1]),
                                                     m.ctypes.data, out.data_ptr(), w, r0, r1))
    return out
