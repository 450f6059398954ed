"""Face masks: the outer landmark polygon, its rasterisation, grow/shrink and feathering.

Numpy only. Coordinates follow :mod:`faceswap_vfx.core.geometry` (x right, y down,
origin at the top-left corner, pixel centres at +0.5).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.draw import polygon2mask

from faceswap_vfx.core.template import OUTER_INDICES

__all__ = ["face_polygon", "polygon_mask", "soft_mask"]


def face_polygon(landmarks: np.ndarray) -> np.ndarray:
    """(68, 2) landmarks -> (27, 2) closed outer contour (:data:`OUTER_INDICES`): the jaw
    0..16, then the brows from 26 back to 17. Same coordinates as the input."""
    landmarks = np.asarray(landmarks, dtype=np.float64)
    if landmarks.shape != (68, 2):
        raise ValueError(f"landmarks must have shape (68, 2), got {landmarks.shape}")
    return landmarks[list(OUTER_INDICES)]


def polygon_mask(polygon: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Rasterise a closed (K, 2) ``(x, y)`` polygon into an (h, w) float32 mask of 0 and 1.

    A pixel is 1 when its centre ``(j + 0.5, i + 0.5)`` is inside the polygon
    (scikit-image's ``polygon2mask``). ``size`` is ``(h, w)``.
    """
    polygon = np.asarray(polygon, dtype=np.float64)
    if polygon.ndim != 2 or polygon.shape[1] != 2 or polygon.shape[0] < 3:
        raise ValueError(f"polygon must have shape (K, 2) with K >= 3, got {polygon.shape}")
    if not np.all(np.isfinite(polygon)):
        raise ValueError("polygon has non-finite values")
    h, w = (int(v) for v in size)
    if h < 1 or w < 1:
        raise ValueError(f"size must be (h, w) positive integers, got {size}")
    # skimage takes (row, col) with pixel centres at integers
    rc = np.stack((polygon[:, 1] - 0.5, polygon[:, 0] - 0.5), axis=1)
    return polygon2mask((h, w), rc).astype(np.float32)


def _signed_distance(inside: np.ndarray) -> np.ndarray:
    """Approximate signed distance (px) from each pixel centre to the mask's edge, negative
    inside: the distance to the nearest pixel centre of the other kind, less half a pixel."""
    outside_d = ndimage.distance_transform_edt(~inside) if inside.any() else np.inf
    inside_d = ndimage.distance_transform_edt(inside) if (~inside).any() else np.inf
    return np.where(inside, 0.5 - inside_d, outside_d - 0.5)


def soft_mask(mask: np.ndarray, sigma_px: float, grow_px: float = 0.0) -> np.ndarray:
    """Grow (``grow_px > 0``) or shrink (``< 0``) an (h, w) mask by ``grow_px`` pixels,
    then blur it with a Gaussian of ``sigma_px`` pixels. Returns (h, w) float32 in [0, 1].

    Growing thresholds the mask at 0.5 first, then moves its edge by a Euclidean distance
    transform between pixel centres (accurate to about half a pixel); with
    ``grow_px == 0`` a soft mask is blurred as it is. Edges are extended, not faded to 0.
    """
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"mask must have shape (h, w), got {mask.shape}")
    if not (np.isfinite(sigma_px) and sigma_px >= 0):
        raise ValueError(f"sigma_px must be >= 0, got {sigma_px}")
    if not np.isfinite(grow_px):
        raise ValueError(f"grow_px must be finite, got {grow_px}")
    out = mask.astype(np.float32)
    if grow_px != 0:
        out = (_signed_distance(out > 0.5) <= grow_px).astype(np.float32)
    if sigma_px > 0:
        out = ndimage.gaussian_filter(out, sigma_px, mode="nearest", truncate=4.0)
    return np.clip(out, 0.0, 1.0)
