"""On-the-fly augmentation of a batch: similarity jitter, horizontal flip, exposure and colour.

Crops and masks move together (one warp); colour changes touch the crops only. All random
numbers come from the ``torch.Generator`` passed in (CPU), so a seeded generator gives the
same batch on any device. Geometry follows :mod:`faceswap_vfx.core.geometry` (pixel
centres at +0.5); the jitter turns and scales about the crop centre ``(R/2, R/2)``.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from faceswap_vfx.core.warp import warp_affine
from faceswap_vfx.train.config import AugmentConfig

_DRAWS = 9  # angle, log-scale, shift x, shift y, flip, exposure, 3 x colour


def similarities(u: torch.Tensor, size: int, cfg: AugmentConfig) -> np.ndarray:
    """(B, 3, 3) float64 ``dst_from_src`` from uniform [0, 1) draws ``u`` ``(B, >= 5)``.

    Columns: rotation, log-scale, x and y shift, flip (mirror when below ``cfg.flip``).
    """
    u = u.double().cpu().numpy()
    sym = 2.0 * u[:, :4] - 1.0  # in [-1, 1)
    angle = np.deg2rad(cfg.rotate_deg) * sym[:, 0]
    scale = np.exp(math.log1p(cfg.scale) * sym[:, 1])
    shift = cfg.shift * size * sym[:, 2:4]
    mirror = np.where(u[:, 4] < cfg.flip, -1.0, 1.0)
    c = size / 2.0
    cos, sin = scale * np.cos(angle), scale * np.sin(angle)
    m = np.zeros((len(u), 3, 3))
    m[:, 0, 0], m[:, 0, 1] = cos * mirror, -sin
    m[:, 1, 0], m[:, 1, 1] = sin * mirror, cos
    m[:, :2, 2] = c + shift - np.einsum("bij,j->bi", m[:, :2, :2], np.array([c, c]))
    m[:, 2, 2] = 1.0
    return m


def augment(crops: torch.Tensor, masks: torch.Tensor, cfg: AugmentConfig,
            generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Augment a batch; returns new ``(crops, masks)`` of the same shapes, device and dtype.

    ``crops``: ``(B, 3, R, R)`` float in [0, 1] (sRGB-like encoded working space);
    ``masks``: ``(B, 1, R, R)`` float in [0, 1]. The result's crops are clamped to [0, 1].
    Pixels the jitter pulls in from outside repeat the crop's edge.
    """
    b, _, r, _ = crops.shape
    if crops.ndim != 4 or crops.shape[1] != 3 or masks.shape != (b, 1, r, r):
        raise ValueError(f"crops must be (B, 3, R, R) and masks (B, 1, R, R), got "
                         f"{tuple(crops.shape)} and {tuple(masks.shape)}")
    u = torch.rand(b, _DRAWS, generator=generator, dtype=torch.float64)
    if b == 0:
        return crops, masks
    if cfg.rotate_deg or cfg.scale or cfg.shift:
        both = warp_affine(torch.cat([crops, masks], 1), similarities(u, r, cfg), (r, r),
                           mode="bilinear", antialias=False, padding="border")
        crops, masks = both[:, :3], both[:, 3:]
    else:  # flips only: exact
        flip = (u[:, 4] < cfg.flip).to(crops.device)[:, None, None, None]
        crops = torch.where(flip, crops.flip(-1), crops)
        masks = torch.where(flip, masks.flip(-1), masks)
    sym = (2.0 * u[:, 5:] - 1.0).to(crops.device, crops.dtype)
    gain = 2.0 ** (cfg.exposure_stops * sym[:, :1] / 2.2) * (1.0 + cfg.colour * sym[:, 1:])
    return (crops * gain[:, :, None, None]).clamp(0.0, 1.0), masks.clamp(0.0, 1.0)
