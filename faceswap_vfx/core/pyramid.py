"""Gaussian and Laplacian pyramids of (B, C, H, W) tensors, any size (not only 2^n).

Levels are listed finest first, as computed: ``pyramid[0]`` is full resolution and each
next level halves the size (rounding up), down to ``levels`` levels. The last entry of a
Laplacian pyramid is the Gaussian residual, so :func:`collapse` reconstructs the image
exactly (to float rounding) whatever the filter.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from faceswap_vfx.core.filters import check_image

# Burt & Adelson's 5-tap binomial kernel (a = 0.375)
_TAPS = (1.0, 4.0, 6.0, 4.0, 1.0)


def max_levels(height: int, width: int) -> int:
    """Levels until the smaller side reaches one pixel: 1 + ceil(log2(min side))."""
    return 1 + math.ceil(math.log2(max(1, min(height, width))))


def pyr_down(image: torch.Tensor) -> torch.Tensor:
    """Blur with the 5-tap binomial kernel and keep every second pixel: (B,C,H,W) ->
    (B, C, ceil(H/2), ceil(W/2))."""
    check_image(image)
    k = torch.tensor(_TAPS, dtype=image.dtype, device=image.device) / 16.0
    b, c, h, w = image.shape
    x = image.reshape(b * c, 1, h, w)
    x = F.conv2d(F.pad(x, (2, 2, 0, 0), mode="replicate"), k.view(1, 1, 1, 5))
    x = F.conv2d(F.pad(x, (0, 0, 2, 2), mode="replicate"), k.view(1, 1, 5, 1))
    return x[:, :, ::2, ::2].reshape(b, c, (h + 1) // 2, (w + 1) // 2)


def pyr_up(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Upsample to ``size`` (H, W) by bilinear interpolation in the +0.5 pixel-centre
    convention (``align_corners=False``)."""
    check_image(image)
    return F.interpolate(image, size=size, mode="bilinear", align_corners=False)


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
