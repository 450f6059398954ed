"""Face masks: the outer landmark polygon, its rasterisation, grow/shrink and feathering.

Numpy, and for the feather the compiled plane blur of
:mod:`~faceswap_vfx.core.warp_kernel` when it is built (scipy's otherwise). Coordinates
follow :mod:`faceswap_vfx.core.geometry` (x right, y down, origin at the top-left corner,
pixel centres at +0.5).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from faceswap_vfx.core import warp_kernel
from faceswap_vfx.core.template import OUTER_INDICES

__all__ = ["bounding_box", "face_polygon", "feather", "polygon_mask", "soft_mask"]


def face_polygon(landmarks: np.ndarray) -> np.ndarray:
    """(68, 2) landmarks -> (27, 2) closed outer contour (:data:`OUTER_INDICES`): the jaw
    0..16, then the brows from 26 back to 17. Same coordinates as the input."""
    landmarks = np.asarray(landmarks, dtype=np.float64)
    if landmarks.shape != (68, 2):
        raise ValueError(f"landmarks must have shape (68, 2), got {landmarks.shape}")
    return landmarks[list(OUTER_INDICES)]


def polygon_mask(polygon: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Rasterise a closed (K, 2) ``(x, y)`` polygon into an (h, w) float32 mask of 0 and 1.

    A pixel is 1 when its centre ``(j + 0.5, i + 0.5)`` is inside the polygon (even-odd
    rule, as scikit-image's ``polygon2mask``). ``size`` is ``(h, w)``.
    """
    polygon = np.asarray(polygon, dtype=np.float64)
    if polygon.ndim != 2 or polygon.shape[1] != 2 or polygon.shape[0] < 3:
        raise ValueError(f"polygon must have shape (K, 2) with K >= 3, got {polygon.shape}")
    if not np.all(np.isfinite(polygon)):
        raise ValueError("polygon has non-finite values")
    h, w = (int(v) for v in size)
    if h < 1 or w < 1:
        raise ValueError(f"size must be (h, w) positive integers, got {size}")
    return _scanline_fill(polygon, h, w)


def _scanline_fill(polygon: np.ndarray, h: int, w: int) -> np.ndarray:
    """Even-odd scanline fill, vectorised: every edge crossing of a row's centre line
    toggles the pixels whose centres lie right of it; a running parity per row (an XOR scan
    over bytes) is the inside. Edges are half-open in y (``y0 <= yc < y1``) so a vertex on a
    centre line is counted once. (h, w) float32 of 0 and 1."""
    x0, y0 = polygon[:, 0], polygon[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    lo = np.minimum(y0, y1)
    hi = np.maximum(y0, y1)
    top = max(0, int(np.floor(lo.min() - 0.5)))
    rows = np.arange(top, min(h, int(np.ceil(hi.max() + 0.5))), dtype=np.float64)
    out = np.zeros((h, w), np.float32)
    if rows.size == 0:
        return out
    yc = rows[:, None] + 0.5  # (R, 1) row centre lines against (K,) edges
    crosses = (lo <= yc) & (yc < hi)
    with np.errstate(divide="ignore", invalid="ignore"):
        x = x0 + (yc - y0) * ((x1 - x0) / (y1 - y0))
    r, k = np.nonzero(crosses)
    # pixel j is right of the crossing when j + 0.5 > x
    first = np.clip(np.floor(x[r, k] - 0.5).astype(np.int64) + 1, 0, w)
    toggles = np.zeros((rows.size, w + 1), np.uint8)  # two crossings at one pixel cancel
    np.bitwise_xor.at(toggles.reshape(-1), r * (w + 1) + first, 1)
    out[top:top + rows.size] = np.bitwise_xor.accumulate(toggles[:, :w], axis=1)
    return out


def _signed_distance(inside: np.ndarray) -> np.ndarray:
    """Approximate signed distance (px) from each pixel centre to the mask's edge, negative
    inside: the distance to the nearest pixel centre of the other kind, less half a pixel."""
    outside_d = ndimage.distance_transform_edt(~inside) if inside.any() else np.inf
    inside_d = ndimage.distance_transform_edt(inside) if (~inside).any() else np.inf
    return np.where(inside, 0.5 - inside_d, outside_d - 0.5)


def finite_mask(mask: np.ndarray) -> np.ndarray:
    """An (h, w) mask or matte as float32 in [0, 1], each NaN pixel given the value of the
    nearest finite one (0 where none is): a bad pixel must neither spread through the blur
    and the pyramid nor punch a hole in the face."""
    out = np.clip(np.asarray(mask, dtype=np.float32), 0.0, 1.0)
    bad = np.isnan(out)
    if not bad.any():
        return out
    if bad.all():
        return np.zeros_like(out)
    nearest = ndimage.distance_transform_edt(bad, return_distances=False, return_indices=True)
    return out[tuple(nearest)]


def soft_mask(mask: np.ndarray, sigma_px: float, grow_px: float = 0.0) -> np.ndarray:
    """Grow (``grow_px > 0``) or shrink (``< 0``) an (h, w) mask by ``grow_px`` pixels,
    then blur it with a Gaussian of ``sigma_px`` pixels. Returns (h, w) float32 in [0, 1].

    Growing thresholds the mask at 0.5 first, then moves its edge by a Euclidean distance
    transform between pixel centres (accurate to about half a pixel); with
    ``grow_px == 0`` a soft mask is blurred as it is. Edges are extended, not faded to 0.
    NaN pixels take their nearest finite neighbour's value (:func:`finite_mask`).
    """
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"mask must have shape (h, w), got {mask.shape}")
    if not (np.isfinite(sigma_px) and sigma_px >= 0):
        raise ValueError(f"sigma_px must be >= 0, got {sigma_px}")
    if not np.isfinite(grow_px):
        raise ValueError(f"grow_px must be finite, got {grow_px}")
    out = finite_mask(mask)
    if grow_px != 0:
        out = (_signed_distance(out > 0.5) <= grow_px).astype(np.float32)
    if sigma_px > 0:
        out = _blur_near_nonzero(out, sigma_px)
    return np.clip(out, 0.0, 1.0)


def feather(mask: np.ndarray, sigma_px: float) -> np.ndarray:
    """scipy's ``gaussian_filter(mask, sigma_px, mode="nearest", truncate=4)`` of an (h, w)
    mask, float32: through the compiled kernel when it is built (the same bits, 3-4x
    faster: :func:`~faceswap_vfx.core.warp_kernel.blur_plane`), else through scipy."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"mask must have shape (h, w), got {mask.shape}")
    if mask.dtype != np.float32 or mask.strides[1] != 4:
        mask = np.ascontiguousarray(mask, np.float32)
    if not warp_kernel.available():
        return ndimage.gaussian_filter(mask, sigma_px, mode="nearest", truncate=4.0)
    radius = int(4.0 * float(sigma_px) + 0.5)  # scipy's taps (ndimage._gaussian_kernel1d)
    x = np.arange(-radius, radius + 1)
    taps = np.exp(-0.5 / (sigma_px * sigma_px) * x ** 2)
    taps = taps / taps.sum()
    return warp_kernel.blur_plane(mask, taps[radius:])


def bounding_box(mask: np.ndarray) -> tuple[slice, slice] | None:
    """Row and column slices of the smallest box holding every nonzero pixel of the (h, w)
    ``mask``; None when it has none."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return slice(int(rows[0]), int(rows[-1]) + 1), slice(int(cols[0]), int(cols[-1]) + 1)


def _blur_near_nonzero(mask: np.ndarray, sigma_px: float) -> np.ndarray:
    """:func:`feather` of ``mask``, computed only on the bounding box of the nonzero pixels
    grown by twice the kernel's radius: beyond one radius the result is exactly 0, and
    inside it every read is what it would be in the whole mask (zeros, or the same edge
    pixels), so the result is identical."""
    box = bounding_box(mask)
    if box is None:
        return np.zeros_like(mask)
    reach = 2 * int(4.0 * sigma_px + 0.5)
    h, w = mask.shape
    rows, cols = box
    y0, y1 = max(0, rows.start - reach), min(h, rows.stop + reach)
    x0, x1 = max(0, cols.start - reach), min(w, cols.stop + reach)
    out = np.zeros_like(mask)
    out[y0:y1, x0:x1] = feather(mask[y0:y1, x0:x1], sigma_px)
    return out
