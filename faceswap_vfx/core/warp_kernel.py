"""ctypes binding of the compiled Keys bicubic warp (``_warp_kernel.c``, built by setup.py as
an optional extension): about 10x (25x with AVX) faster on one core than the torch path of
:mod:`faceswap_vfx.core.warp`, and split over torch's thread count (ctypes releases the
GIL). Same arithmetic, so results equal the torch path's to float32 rounding. The
antialias prefilter (:func:`gaussian_blur`'s separable Gaussian) runs in the kernel too,
fused into the packing of the source the warp reads. Also the warp's coverage
(:func:`cover`), computed from the matrix rather than by warping ones.

The Keys warp picks AVX or baseline code at run time (two output pixels per 256-bit vector
where the CPU has AVX: the same bits either way; :func:`instruction_set`).

When the library is missing :func:`supports` is False and the warp keeps its torch path.
"""

from __future__ import annotations

import ctypes
import os
from concurrent.futures import ThreadPoolExecutor
from functools import cache

import numpy as np
import torch

from faceswap_vfx.core import filters
from faceswap_vfx.core.native import load

_ROWS_PER_TASK = 32  # fewer rows than this are not worth a thread
_PAD = 4  # PAD in _warp_kernel.c
ISAS = {"auto": 0, "baseline": 1, "avx": 2}  # ISA_* in _warp_kernel.c


@cache
def _library() -> ctypes.CDLL | None:
    lib = load("_warp_kernel", "warp_abi_version", 6)
    if lib is not None:
        ptr, long_, int_ = ctypes.c_void_p, ctypes.c_long, ctypes.c_int
        lib.fsv_warp_keys.restype = lib.fsv_warp_cover.restype = None
        lib.fsv_warp_keys.argtypes = [ptr, long_, long_, ptr, int_, ptr, long_, long_, long_,
                                      long_, long_, int_]
        lib.fsv_warp_best_isa.restype = int_
        lib.fsv_warp_best_isa.argtypes = []
        lib.fsv_warp_cover.argtypes = [long_, long_, ptr, ptr, long_, long_, long_]
        lib.fsv_blur_pack.restype = lib.fsv_blur.restype = ctypes.c_int  # 0: out of memory
        source = [ptr] + [long_] * 6 + [ptr, long_]  # src, strides, channels, size, taps
        lib.fsv_blur_pack.argtypes = source + [ctypes.c_int, ptr, long_, long_]
        lib.fsv_blur.argtypes = source + [ptr, long_, long_]
        lib.fsv_blur_plane.restype = ctypes.c_int
        lib.fsv_blur_plane.argtypes = [ptr, long_, long_, long_, ptr, long_, ptr, long_, long_]
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


def instruction_set() -> str | None:
    """What the Keys warp runs here for ``isa="auto"``: ``"avx"`` or ``"baseline"``; None
    when the library is not built."""
    lib = _library()
    if lib is None:
        return None
    best = lib.fsv_warp_best_isa()
    return next(name for name, code in ISAS.items() if code == best)


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


def _taps(sigma: float) -> torch.Tensor:
    """float32 taps of :func:`filters.gaussian_blur` for ``sigma`` px (radius ceil(3 sigma),
    at least 1); sigma <= 0: the single tap 1 (no blur)."""
    if sigma <= 0:
        return torch.ones(1)
    return filters.gaussian_kernel1d(sigma, torch.float32, torch.device("cpu")).contiguous()


def _groups(image: torch.Tensor):
    """``(item, first channel, view)`` for each batch item's channels in groups of up to 4,
    the views (n, H, W) of ``image`` itself (any strides)."""
    b, c = image.shape[:2]
    for i in range(b):
        for c0 in range(0, c, 4):
            yield i, c0, image[i, c0:c0 + 4]


def _source_args(view: torch.Tensor, taps: torch.Tensor) -> list[int]:
    """The leading arguments of fsv_blur_pack / fsv_blur for an (n, H, W) float32 view."""
    n, height, width = view.shape
    sc, sy, sx = view.stride()
    return [view.data_ptr(), sc, sy, sx, n, height, width, taps.data_ptr(),
            (len(taps) - 1) // 2]


def _run_rows(h: int, call) -> None:
    """:func:`_split_rows` of a kernel ``call(r0, r1)`` that returns 0 when out of memory."""
    failed = []
    _split_rows(h, lambda r0, r1: call(r0, r1) or failed.append(r0))
    if failed:
        raise MemoryError("the warp kernel's blur could not allocate its row buffers")


def _packed(view: torch.Tensor, taps: torch.Tensor, padding: str) -> torch.Tensor:
    """The (H + 8, W + 8, 4) float32 grid fsv_warp_keys reads: (n, H, W) ``view`` (n <= 4,
    any strides) correlated with ``taps`` along y then x, edges replicated (one tap: as
    is), in the first n lanes (the rest 0), and 4 pixels of ``padding`` (zeros or edge
    pixels) around it. Made in one pass over the source, rows split over threads."""
    lib = _library()
    _, height, width = view.shape
    grid = torch.empty((height + 2 * _PAD, width + 2 * _PAD, 4), dtype=torch.float32)
    head = _source_args(view, taps) + [int(padding == "border"), grid.data_ptr()]
    _run_rows(grid.shape[0], lambda r0, r1: lib.fsv_blur_pack(*head, r0, r1))
    return grid


def gaussian_blur(image: torch.Tensor, sigma: float) -> torch.Tensor:
    """:func:`filters.gaussian_blur` of a (B, C, H, W) float32 CPU ``image`` (any strides,
    e.g. a channels-last view), the same values to float32 rounding. Returns (B, C, H, W)
    float32, contiguous."""
    lib = _library()
    if lib is None:
        raise RuntimeError("the warp kernel is not built")
    if sigma <= 0:
        return image.clone(memory_format=torch.contiguous_format)
    taps = _taps(sigma)
    height = image.shape[2]
    out = torch.empty(image.shape, dtype=torch.float32)
    for i, c0, view in _groups(image):
        head = _source_args(view, taps) + [out[i, c0].data_ptr()]
        _run_rows(height, lambda r0, r1, head=head: lib.fsv_blur(*head, r0, r1))
    return out


def blur_plane(plane: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``scipy.ndimage.gaussian_filter``'s arithmetic, to the bit, for a symmetric kernel on
    an (h, w) float32 ``plane`` (rows of any pitch, columns contiguous), edges replicated
    (``mode="nearest"``): along y, rounded to float32, then along x, each output summed in
    float64 as ``c w[0] + (c[-k] + c[k]) w[k]`` for k = radius .. 1. ``weights``: float64
    (radius + 1,), the centre tap, then those k px away. Returns (h, w) float32."""
    lib = _library()
    if lib is None:
        raise RuntimeError("the warp kernel is not built")
    if plane.dtype != np.float32 or plane.ndim != 2 or plane.strides[1] != 4:
        raise ValueError(f"expected an (h, w) float32 plane with contiguous rows, got "
                         f"{plane.dtype} {plane.shape} strides {plane.strides}")
    weights = np.ascontiguousarray(weights, np.float64)
    if weights.ndim != 1 or len(weights) == 0:
        raise ValueError(f"expected the (radius + 1,) taps, got shape {weights.shape}")
    h, w = plane.shape
    out = np.empty((h, w), np.float32)
    if h == 0 or w == 0:
        return out
    head = [plane.ctypes.data, plane.strides[0] // 4, h, w, weights.ctypes.data,
            len(weights) - 1, out.ctypes.data]
    _run_rows(h, lambda r0, r1: lib.fsv_blur_plane(*head, r0, r1))
    return out


def warp_keys(image: torch.Tensor, src_from_dst: np.ndarray, out_size: tuple[int, int],
              padding: str, sigma: float = 0.0, isa: str = "auto") -> torch.Tensor:
    """Keys bicubic (a = -0.5) resampling of (B, C, H, W) float32 CPU ``image`` (any
    strides) at the source points ``src_from_dst @ [j + 0.5, i + 0.5, 1]`` of an
    ``out_size`` (h, w) output; ``src_from_dst``: (B, 3, 3) affine. padding: ``"zeros"`` or
    ``"border"``. sigma > 0: resample ``filters.gaussian_blur(image, sigma)`` instead (the
    antialias prefilter), blurred as the source is packed for the warp. isa: ``"auto"`` (the
    best this CPU runs), ``"baseline"`` or ``"avx"`` (the same bits; a padded source of
    2^31 pixels or more takes the baseline code). Returns (B, C, h, w) float32, contiguous."""
    lib = _library()
    if lib is None:
        raise RuntimeError("the warp kernel is not built")
    if isa not in ISAS:
        raise ValueError(f"unknown instruction set {isa!r}; one of {sorted(ISAS)}")
    if isa == "avx" and instruction_set() != "avx":
        raise RuntimeError("the warp kernel cannot run 'avx' on this CPU")
    b, c, height, width = image.shape
    h, w = out_size
    out = torch.empty((b, c, h, w), dtype=torch.float32)
    taps = _taps(sigma)
    border = int(padding == "border")  # zeros: the kernel skips pixels reading only padding
    for i, c0, view in _groups(image):
        grid = _packed(view, taps, padding)
        m = np.ascontiguousarray(src_from_dst[i, :2], dtype=np.float64)
        dst = out[i, c0:]
        n = len(view)

        def rows(r0: int, r1: int, grid=grid, m=m, dst=dst, n=n) -> None:
            lib.fsv_warp_keys(grid.data_ptr(), height, width, m.ctypes.data, border,
                              dst.data_ptr(), n, h, w, r0, r1, ISAS[isa])

        _split_rows(h, rows)
    return out


def cover(src_from_dst: np.ndarray, src_size: tuple[int, int], out_size: tuple[int, int]
          ) -> torch.Tensor:
    """(1, 1, h, w) float32 CPU: 1 where a bilinear warp of a ``src_size`` (H, W) image by
    the (3, 3) affine ``src_from_dst`` reads only the image (in-image tap weights > 0.999),
    else 0: the same as warping an image of ones with zeros outside (antialiased or not:
    a blurred constant stays constant) and thresholding it, computed from the matrix.
    One thread: the kernel fills each row's spans and evaluates only the pixels along the
    crop's edges (~0.25 ms for a 944 px ROI), less than handing rows to the pool costs."""
    lib = _library()
    if lib is None:
        raise RuntimeError("the warp kernel is not built")
    h, w = out_size
    out = torch.empty((1, 1, h, w), dtype=torch.float32)
    m = np.ascontiguousarray(np.asarray(src_from_dst, np.float64)[:2])
    lib.fsv_warp_cover(int(src_size[0]), int(src_size[1]), m.ctypes.data, out.data_ptr(), w,
                       0, h)
    return out
