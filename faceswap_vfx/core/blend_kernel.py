"""ctypes binding of the compiled multi-band blend (``_mbb_kernel.c``, plain C built by
setup.py as an optional extension; see :mod:`faceswap_vfx.core.native`).

Why a C kernel: eager torch makes ~25 passes over the full-resolution pixels (each tap,
product and sum is its own pass) after copying channels-last inputs to NCHW; the kernel
reads the full-resolution inputs twice in place, whatever their strides, and writes the
output once (~7x faster on one core for a 1024^2 face). It does the torch path's products
and sums in the same order, without fused multiply-adds (torch's own kernels may fuse
some), so results equal the torch path's to float32 rounding, Inf and NaN included. It
picks AVX2 or baseline code at run time (the same bits either way) and splits rows over
``torch.get_num_threads()`` threads.

When the library is missing :func:`available` is False and
:func:`faceswap_vfx.core.blend.multiband_blend` keeps its torch path.
"""

from __future__ import annotations

import ctypes
import functools
import math

import torch

from faceswap_vfx.core.filters import gaussian_kernel1d
from faceswap_vfx.core.native import load

ISAS = {"auto": 0, "baseline": 1, "avx2": 2}  # ISA_* in _mbb_kernel.c
_I64x4 = ctypes.c_int64 * 4


@functools.cache
def library() -> ctypes.CDLL | None:
    """The loaded kernel, or None when it was not built (or is of another version)."""
    lib = load("_mbb_kernel", "mbb_abi_version", 2)  # MBB_ABI_VERSION
    if lib is not None:
        ptr, i64, int_ = ctypes.c_void_p, ctypes.c_int64, ctypes.c_int
        lib.mbb_blend.restype = int_
        lib.mbb_blend.argtypes = [ptr, ptr, ptr, ptr, ptr, ptr, ptr, ptr, i64, i64, i64, i64,
                                  i64, i64, ptr, i64, int_, int_]
        lib.mbb_best_isa.restype = int_
    return lib


def available() -> bool:
    """Whether the compiled kernel was built and loads."""
    return library() is not None


def instruction_set() -> str | None:
    """What the kernel runs here: ``"avx2"`` or ``"baseline"``; None when not built."""
    lib = library()
    if lib is None:
        return None
    best = lib.mbb_best_isa()
    return next(name for name, code in ISAS.items() if code == best)


def supports(source: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> bool:
    """Whether :func:`blend` takes these (checked) inputs: a float32 target, all three on
    the CPU (source and mask are converted to float32 if need be), none needing gradients,
    no empty image, and the library built."""
    tensors = (source, target, mask)
    return (target.dtype == torch.float32 and all(t.device.type == "cpu" for t in tensors)
            and not (torch.is_grad_enabled() and any(t.requires_grad for t in tensors))
            and target.numel() > 0 and available())


@functools.lru_cache(maxsize=16)
def _taps(sigma: float) -> tuple[torch.Tensor, int]:
    """The level masks' Gaussian taps (float32, as filters.gaussian_kernel1d) and radius;
    radius 0 for no blur."""
    if sigma <= 0:
        return torch.ones(1), 0
    taps = gaussian_kernel1d(sigma, torch.float32, torch.device("cpu"))
    return taps, max(1, math.ceil(3.0 * sigma))


def blend(source: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, levels: int,
          face_levels: int, mask_sigma: float, isa: str = "auto",
          out: torch.Tensor | None = None) -> torch.Tensor:
    """:func:`~faceswap_vfx.core.blend.multiband_blend` of checked (B, C, H, W) float32 CPU
    ``source``, ``target`` and (B, 1, H, W) ``mask``, each read in place whatever its
    strides. levels: n; face_levels: n - plate_levels, in [1, n]. isa: ``"auto"`` (the
    best this CPU runs), ``"baseline"`` or ``"avx2"``. out: a checked float32 CPU
    (B, C, H, W) tensor to write into (it may be ``target`` or ``source`` itself), else a
    new one, channels-last in memory when ``target`` is. Returns it."""
    lib = library()
    if lib is None:
        raise RuntimeError("the multi-band blend kernel is not built")
    source, mask = source.to(torch.float32), mask.to(torch.float32)
    b, c, h, w = target.shape
    if out is None:
        layout = (torch.channels_last if c > 1 and target.stride(1) == 1
                  else torch.contiguous_format)
        out = torch.empty((b, c, h, w), dtype=torch.float32, memory_format=layout)
    taps, radius = _taps(float(mask_sigma))
    status = lib.mbb_blend(source.data_ptr(), _I64x4(*source.stride()), target.data_ptr(),
                           _I64x4(*target.stride()), mask.data_ptr(), _I64x4(*mask.stride()),
                           out.data_ptr(), _I64x4(*out.stride()), b, c, h, w, levels,
                           face_levels, taps.data_ptr(), radius, torch.get_num_threads(),
                           ISAS[isa])
    if status == 1:
        raise MemoryError("the multi-band blend kernel ran out of memory")
    if status == 3:
        raise RuntimeError(f"the multi-band blend kernel cannot run {isa!r} on this CPU")
    if status:
        raise ValueError(f"the multi-band blend kernel refused its arguments ({status})")
    return out
