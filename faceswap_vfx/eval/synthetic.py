"""Synthetic groups of aligned crops, for demos and tests when real ones do not exist.

The bundled demo has one photo per identity: no held-out photos, no second expression.
These make stand-ins and say what they are:

* :func:`jitter`: random similarity jitter (rotation, scale, shift, mirror) and exposure /
  colour gains of one aligned crop, with its landmarks carried along;
* :func:`mouth_corners`: a smooth, landmark-driven warp that lifts (``amount > 0``) or
  lowers (``< 0``) the mouth corners: a geometric caricature of a smile or a frown, not a
  real expression (the cheeks and eyes do not change).

Crops are ``(N, 3, R, R)`` float in [0, 1]; landmarks ``(N, 68, 2)`` crop px (x right,
y down, pixel centres at +0.5, :mod:`faceswap_vfx.core.geometry`).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from faceswap_vfx.core.geometry import apply
from faceswap_vfx.core.mask import face_polygon, polygon_mask
from faceswap_vfx.core.warp import warp_affine
from faceswap_vfx.train.augment import similarities
from faceswap_vfx.train.config import AugmentConfig

MOUTH_LEFT, MOUTH_RIGHT = 48, 54  # iBUG 68-point mouth corners
UPPER_LIP, LOWER_LIP = 51, 57
NOSE_BRIDGE = 27


def _check(crops: torch.Tensor, landmarks: torch.Tensor | np.ndarray) -> np.ndarray:
    lms = np.asarray(landmarks, np.float64)
    n, r = crops.shape[0], crops.shape[-1]
    if crops.ndim != 4 or crops.shape[1:] != (3, r, r) or lms.shape != (n, 68, 2):
        raise ValueError(f"crops must be (N, 3, R, R) and landmarks (N, 68, 2), got "
                         f"{tuple(crops.shape)} and {lms.shape}")
    return lms


def masks_of(landmarks: np.ndarray, size: int) -> torch.Tensor:
    """``(N, 1, size, size)`` float32 face masks (outer landmark polygon)."""
    return torch.stack([torch.from_numpy(polygon_mask(face_polygon(lm), (size, size)))[None]
                        for lm in np.asarray(landmarks)])


def jitter(crop: torch.Tensor, landmarks: np.ndarray, n: int, cfg: AugmentConfig,
           seed: int) -> tuple[torch.Tensor, np.ndarray]:
    """``n`` jittered copies of one crop ``(3, R, R)`` with landmarks ``(68, 2)``:
    ``(n, 3, R, R)`` and ``(n, 68, 2)``. Draws as :mod:`faceswap_vfx.train.augment` does,
    from a generator seeded with ``seed``; a mirror also swaps left and right landmarks'
    positions (their indices are not renumbered)."""
    r = crop.shape[-1]
    g = torch.Generator().manual_seed(seed)
    u = torch.rand(n, 9, generator=g, dtype=torch.float64)
    m = similarities(u, r, cfg)
    images = warp_affine(crop[None].expand(n, -1, -1, -1).float(), m, (r, r),
                         mode="bilinear", padding="border")
    sym = (2.0 * u[:, 5:] - 1.0).float()
    gain = 2.0 ** (cfg.exposure_stops * sym[:, :1] / 2.2) * (1.0 + cfg.colour * sym[:, 1:])
    images = (images * gain[:, :, None, None]).clamp(0.0, 1.0)
    lms = np.stack([apply(mi, landmarks) for mi in m])
    return images, lms


def mouth_corners(crops: torch.Tensor, landmarks: torch.Tensor | np.ndarray,
                  amount: float) -> torch.Tensor:
    """Lift (``amount > 0``) or lower (``< 0``) the mouth corners by ``amount`` times the
    mouth width, and move them outwards by a third of that; the lips' middles move a
    quarter as far. A Gaussian displacement field (sigma: 40 % of the mouth width) around
    the four points, sampled backwards (bilinear, border), so nothing tears."""
    lms = _check(crops, landmarks)
    n, _, r, _ = crops.shape
    coords = (torch.arange(r, dtype=torch.float64) + 0.5)
    yy, xx = torch.meshgrid(coords, coords, indexing="ij")
    grids = []
    for lm in lms:
        left, right = lm[MOUTH_LEFT], lm[MOUTH_RIGHT]
        width = float(np.linalg.norm(right - left))
        across = (right - left) / max(width, 1e-6)
        up = np.array([across[1], -across[0]])  # perpendicular to the mouth, towards
        if up @ (lm[NOSE_BRIDGE] - (left + right) / 2) < 0:  # the nose (mirrors too)
            up = -up
        lift = amount * width
        moves = [(left, lift * up - lift / 3 * across), (right, lift * up + lift / 3 * across),
                 (lm[UPPER_LIP], 0.25 * lift * up), (lm[LOWER_LIP], 0.25 * lift * up)]
        sigma = 0.4 * width
        dx = torch.zeros(r, r, dtype=torch.float64)
        dy = torch.zeros(r, r, dtype=torch.float64)
        for (cx, cy), (vx, vy) in moves:
            w = torch.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * sigma**2))
            dx += vx * w
            dy += vy * w
        src_x, src_y = xx - dx, yy - dy  # backward map: out(p) = in(p - d(p))
        grids.append(torch.stack([src_x / r * 2 - 1, src_y / r * 2 - 1], -1))
    grid = torch.stack(grids).to(crops.dtype)
    return F.grid_sample(crops, grid, mode="bilinear", padding_mode="border",
                         align_corners=False).clamp(0.0, 1.0)
