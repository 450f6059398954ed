"""Separable image filters on (B, C, H, W) tensors; device and dtype follow the input.

Filters run as a sum of shifted views (one fused multiply-add per tap over the whole
image) rather than ``conv2d`` with one input channel, which is 5-10x slower on CPU.
Edges are replicated.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F


def check_image(image: torch.Tensor, name: str = "image") -> torch.Tensor:
    """Raise unless ``image`` is a floating (B, C, H, W) tensor; return it."""
    if not isinstance(image, torch.Tensor) or image.ndim != 4:
        raise ValueError(f"{name} must be a (B, C, H, W) tensor, got "
                         f"{getattr(image, 'shape', type(image))}")
    if not image.is_floating_point():
        raise ValueError(f"{name} must be floating point, got {image.dtype}")
    return image


def gaussian_kernel1d(sigma: float, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Normalised Gaussian taps, radius ceil(3 sigma) (at least 1)."""
    radius = max(1, math.ceil(3.0 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=dtype, device=device)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    return k / k.sum()


def _correlate(x: torch.Tensor, taps: Sequence[float], dim: int, step: int) -> torch.Tensor:
    """Correlate the already padded ``x`` with odd-length ``taps`` along ``dim``, keeping
    every ``step``-th output. Output length: ``ceil((len - 2 r) / step)``."""
    n = (x.shape[dim] - len(taps) + 1 + step - 1) // step
    span = step * (n - 1) + 1
    out = torch.mul(x.narrow(dim, 0, span)[_steps(dim, x.ndim, step)], taps[0])
    for i, k in enumerate(taps[1:], 1):
        out.add_(x.narrow(dim, i, span)[_steps(dim, x.ndim, step)], alpha=k)
    return out


def _steps(dim: int, ndim: int, step: int) -> tuple[slice, ...]:
    return (slice(None),) * (dim % ndim) + (slice(None, None, step),)


def separable(image: torch.Tensor, taps: Sequence[float], step: int = 1) -> torch.Tensor:
    """Correlate (B, C, H, W) ``image`` with ``taps`` (odd length, the same along both
    axes), edges replicated; keep every ``step``-th pixel from the first (``step`` 2:
    (B, C, ceil(H/2), ceil(W/2))). Rows first, then columns."""
    check_image(image)
    r = (len(taps) - 1) // 2
    b, c, h, w = image.shape
    x = image.reshape(b * c, 1, h, w)
    x = F.pad(x, (r, r, r, r), mode="replicate") if r else x
    x = _correlate(x, taps, 2, step)  # along H (rows, contiguous: cheap), decimated first
    x = _correlate(x, taps, 3, step)
    return x.reshape(b, c, x.shape[-2], x.shape[-1])


def gaussian_blur(image: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur, ``sigma`` in pixels, edges replicated; sigma <= 0 is a copy.

    image: (B, C, H, W) float. Returns the same shape, device and dtype.
    """
    check_image(image)
    if sigma <= 0:
        return image.clone()
    taps = gaussian_kernel1d(sigma, image.dtype, torch.device("cpu")).tolist()
    return separable(image, taps)
