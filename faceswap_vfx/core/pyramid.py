"""Gaussian and Laplacian pyramids of (B, C, H, W) tensors, any size (not only 2^n).

Levels are listed finest first, as computed: ``pyramid[0]`` is full resolution and each
next level halves the size (rounding up), down to ``levels`` levels. The last entry of a
Laplacian pyramid is the Gaussian residual, so :func:`collapse` reconstructs the image
exactly (to float rounding) whatever the filter.
"""

from __future__ import annotations

import math

import torch

from faceswap_vfx.core.filters import check_image, separable

# Burt & Adelson's 5-tap binomial kernel (a = 0.375)
_TAPS = (1.0 / 16, 4.0 / 16, 6.0 / 16, 4.0 / 16, 1.0 / 16)


def max_levels(height: int, width: int) -> int:
    """Levels until the smaller side reaches one pixel: 1 + ceil(log2(min side))."""
    return 1 + math.ceil(math.log2(max(1, min(height, width))))


def pyr_down(image: torch.Tensor) -> torch.Tensor:
    """Blur with the 5-tap binomial kernel (edges replicated) and keep every second pixel
    from the first: (B, C, H, W) -> (B, C, ceil(H/2), ceil(W/2))."""
    return separable(image, _TAPS, step=2)


def pyr_up(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Upsample (B, C, h, w) to ``size`` (H, W) by bilinear interpolation in the +0.5
    pixel-centre convention (``F.interpolate(..., align_corners=False)``): rows, then
    columns."""
    check_image(image)
    return _linear(_linear(image, int(size[0]), 2), int(size[1]), 3)


def _linear(x: torch.Tensor, out: int, dim: int) -> torch.Tensor:
    """Linear interpolation of ``x`` along ``dim`` to ``out`` samples, pixel centres at
    +0.5, source positions clamped at the first and last sample."""
    n = x.shape[dim]
    if out == n:
        return x
    if out == 2 * n:  # the pyramid's case: weights 1/4, 3/4 (edges: the edge sample)
        shape = list(x.shape)
        result = x.new_empty(shape[:dim] + [n, 2] + shape[dim + 1:])
        even, odd = result.select(dim + 1, 0), result.select(dim + 1, 1)
        even.narrow(dim, 0, 1).copy_(x.narrow(dim, 0, 1))
        odd.narrow(dim, n - 1, 1).copy_(x.narrow(dim, n - 1, 1))
        if n > 1:
            lo, hi = x.narrow(dim, 0, n - 1), x.narrow(dim, 1, n - 1)
            torch.add(torch.mul(hi, 0.75), lo, alpha=0.25, out=even.narrow(dim, 1, n - 1))
            torch.add(torch.mul(lo, 0.75), hi, alpha=0.25, out=odd.narrow(dim, 0, n - 1))
        shape[dim] = out
        return result.view(shape)
    # any other ratio (odd sizes): the two neighbours of each output sample, weighted
    pos = ((torch.arange(out, dtype=x.dtype) + 0.5) * (n / out) - 0.5).clamp(min=0.0)
    i0 = pos.long().clamp(max=n - 1)
    i1 = (i0 + 1).clamp(max=n - 1)
    shape = [1] * x.ndim
    shape[dim] = out
    w1 = (pos - i0.to(x.dtype)).view(shape).to(x.device)
    lo = x.index_select(dim, i0.to(x.device)).mul_(1.0 - w1)
    return lo.addcmul_(x.index_select(dim, i1.to(x.device)), w1)

def gaussian_pyramid(image: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """``levels`` images, finest first, each :func:`pyr_down` of the previous."""
    check_image(image)
    if levels < 1:
        raise ValueError(f"levels must be >= 1, got {levels}")
    out = [image]
    for _ in range(levels - 1):
        out.append(pyr_down(out[-1]))
    return out


def laplacian_pyramid(image: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """Band-pass levels, finest first, then the Gaussian residual (``levels`` in all)."""
    gauss = gaussian_pyramid(image, levels)
    bands = [g - pyr_up(gauss[i + 1], g.shape[-2:]) for i, g in enumerate(gauss[:-1])]
    return [*bands, gauss[-1]]


def collapse(pyramid: list[torch.Tensor]) -> torch.Tensor:
    """Rebuild the image from a Laplacian pyramid (the inverse of :func:`laplacian_pyramid`)."""
    image = pyramid[-1]
    for band in reversed(pyramid[:-1]):
        image = band + pyr_up(image, band.shape[-2:])
    return image
