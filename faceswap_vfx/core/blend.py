"""The multi-band blend of Naruniec et al. 2020, Algorithm 1 (after Burt & Adelson 1983).

The generated face S and the plate T are split into Laplacian pyramids. Level by level, a
face mask at that level's size, Gaussian-smoothed with ``mask_sigma`` (in that level's
pixels), chooses where the output comes from: outside the face always the plate; inside
the face the plate for the coarsest ``plate_levels`` levels (which keeps the plate's light
and contrast) and the generated face for the finer ones (which gives the detail).

Levels are counted as in the paper: ``n = ceil(log2(min(H, W)))`` levels, the coarsest
about 2 pixels across, the finest full resolution.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from faceswap_vfx.core.filters import check_image, gaussian_blur
from faceswap_vfx.core.pyramid import collapse, laplacian_pyramid


def blend_levels(height: int, width: int) -> int:
    """The paper's level count n = log2 r for an r x r face, generalised to any size."""
    return max(1, math.ceil(math.log2(max(2, min(height, width)))))


def level_masks(mask: torch.Tensor, sizes: list[tuple[int, int]], sigma: float
                ) -> list[torch.Tensor]:
    """The face mask at each size (area-averaged down from full resolution), each
    Gaussian-smoothed with ``sigma`` of its own pixels. mask: (B, 1, H, W) in [0, 1]."""
    out = []
    for size in sizes:
        m = mask if tuple(mask.shape[-2:]) == tuple(size) else F.adaptive_avg_pool2d(mask, size)
        out.append(gaussian_blur(m, sigma).clamp(0.0, 1.0))
    return out


def multiband_blend(source: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
                    plate_levels: int = 2, mask_sigma: float = 2.0,
                    levels: int | None = None) -> torch.Tensor:
    """Blend the generated face ``source`` into the plate ``target`` under ``mask``.

    source, target: (B, C, H, W) float, same shape, any device (scene-linear or log: the
    blend is linear in its inputs). mask: (B, 1, H, W) in [0, 1], 1 on the face (e.g. the
    polygon of the outer landmarks, rasterised). plate_levels: K, the coarsest levels taken
    from the plate inside the face (2 in the paper). mask_sigma: Gaussian sigma in pixels of
    each level. levels: pyramid depth, default :func:`blend_levels`.
    Returns the blended (B, C, H, W), same device and dtype as ``target``.
    """
    check_image(source, "source")
    check_image(target, "target")
    check_image(mask, "mask")
    if source.shape != target.shape:
        raise ValueError(f"source {tuple(source.shape)} and target {tuple(target.shape)} differ")
    b, _, h, w = target.shape
    if mask.shape != (b, 1, h, w):
        raise ValueError(f"mask must be {(b, 1, h, w)}, got {tuple(mask.shape)}")
    if plate_levels < 0:
        raise ValueError(f"plate_levels must be >= 0, got {plate_levels}")
    n = levels or blend_levels(h, w)
    pyr_s = laplacian_pyramid(source.to(target.dtype), n)
    pyr_t = laplacian_pyramid(target, n)
    masks = level_masks(mask.to(target.dtype), [tuple(t.shape[-2:]) for t in pyr_t], mask_sigma)
    out = []
    for i, (s, t, m) in enumerate(zip(pyr_s, pyr_t, masks, strict=True)):
        from_coarsest = n - i  # the paper's level index: 1 is the coarsest
        out.append(t if from_coarsest <= plate_levels else t + m * (s - t))
    return collapse(out)
