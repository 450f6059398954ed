"""Put a generated face back into the plate: region of interest, masks, blend, final edge.

Pure math. Coordinates follow :mod:`faceswap_vfx.core.geometry`; "plate" coordinates here
are those of the pixel array handed in (the caller offsets for data/display windows).

The face is blended with :func:`~faceswap_vfx.core.blend.multiband_blend` inside a region
of interest (ROI) around it, then laid over the plate with a final alpha that is exactly 0
beyond ``mask_grow + 4 * edge_feather`` pixels of the landmark polygon: every pixel
there is the plate's own, bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from faceswap_vfx.core import warp_kernel
from faceswap_vfx.core.blend import multiband_blend
from faceswap_vfx.core.geometry import apply
from faceswap_vfx.core.mask import face_polygon, finite_mask, polygon_mask, soft_mask
from faceswap_vfx.core.warp import warp_affine

Blend = Callable[..., torch.Tensor]
"""``blend(source, target, mask, plate_levels=, mask_sigma=) -> out``: an implementation of
:func:`~faceswap_vfx.core.blend.multiband_blend` (same shapes, same result within float32
rounding), e.g. the preview's GLSL one."""


@dataclass(frozen=True)
class Roi:
    """Integer pixel rectangle ``[x0, x1) x [y0, y1)`` of an array."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def size(self) -> tuple[int, int]:
        """(h, w)."""
        return self.y1 - self.y0, self.x1 - self.x0

    @property
    def slices(self) -> tuple[slice, slice]:
        """Row and column slices into the array."""
        return slice(self.y0, self.y1), slice(self.x0, self.x1)

    @property
    def empty(self) -> bool:
        return self.x1 <= self.x0 or self.y1 <= self.y0

    def from_plate(self) -> np.ndarray:
        """3x3 ``roi_from_plate`` (a translation)."""
        return np.array([[1.0, 0.0, -self.x0], [0.0, 1.0, -self.y0], [0.0, 0.0, 1.0]])


def face_roi(plate_from_crop: np.ndarray, crop_size: int, array_size: tuple[int, int],
             pad: float) -> Roi:
    """The bounding box of the crop's corners in the plate, ``pad`` px wider on every
    side, clipped to the (h, w) array. May be empty (face off the plate)."""
    r = float(crop_size)
    corners = apply(plate_from_crop, np.array([[0, 0], [r, 0], [0, r], [r, r]], np.float64))
    lo = np.floor(corners.min(0) - pad).astype(int)
    hi = np.ceil(corners.max(0) + pad).astype(int)
    h, w = array_size
    return Roi(max(0, lo[0]), max(0, lo[1]), min(w, hi[0]), min(h, hi[1]))


def final_alpha(landmarks_roi: np.ndarray, roi_size: tuple[int, int], grow: float,
                feather: float) -> np.ndarray:
    """The edge into the plate: the landmark polygon grown by ``grow`` px, feathered by a
    Gaussian of sigma ``feather`` px (support truncated at 4 sigma). (h, w) float32."""
    inside = polygon_mask(face_polygon(landmarks_roi), roi_size)
    return soft_mask(inside, feather, grow)


def warp_face(generated: torch.Tensor, roi_from_crop: np.ndarray, roi_size: tuple[int, int]
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """The generated (1, C, r, r) crop warped into the (h, w) ROI (Keys bicubic,
    antialiased when minified) and (1, 1, h, w) coverage: 1 where the crop fully covers a
    pixel, else 0."""
    warped = warp_affine(generated, roi_from_crop, roi_size, mode="bicubic")
    if warp_kernel.supports(generated):  # the same coverage, from the matrix alone
        crop_from_roi = np.linalg.inv(np.asarray(roi_from_crop, np.float64))
        return warped, warp_kernel.cover(crop_from_roi, generated.shape[-2:], roi_size)
    cover = warp_affine(torch.ones_like(generated[:, :1]), roi_from_crop, roi_size)
    return warped, (cover > 0.999).to(generated.dtype)


def blend_roi(target: torch.Tensor, warped: torch.Tensor, cover: torch.Tensor,
              landmarks_roi: np.ndarray, *, plate_levels: int = 2, mask_sigma: float = 2.0,
              mask_grow: float = 0.0, edge_feather: float = 4.0,
              matte: np.ndarray | None = None, matte_mode: str = "multiply",
              blend: Blend = multiband_blend) -> tuple[torch.Tensor, torch.Tensor]:
    """Blend the warped face into the plate's ROI.

    target, warped: (1, C, h, w) in the blend colour space, same device and dtype; cover:
    (1, 1, h, w) from :func:`warp_face`. landmarks_roi: (68, 2) in ROI pixels. matte:
    optional (h, w) float in [0, 1], multiplied with (``"multiply"``) or used instead of
    (``"replace"``) the landmark mask. blend: the multi-band blend to use (:data:`Blend`).
    Returns ``(out, alpha)``: (1, C, h, w) blended ROI and (1, 1, h, w) final alpha;
    ``out`` equals ``target`` (same values) wherever ``alpha`` is 0.
    """
    if target.ndim != 4 or target.shape[0] != 1 or warped.shape != target.shape:
        raise ValueError(f"target and warped must both be (1, C, h, w), got "
                         f"{tuple(target.shape)} and {tuple(warped.shape)}")
    if matte_mode not in ("multiply", "replace"):
        raise ValueError(f"matte_mode must be 'multiply' or 'replace', got {matte_mode!r}")
    alpha = final_alpha(landmarks_roi, tuple(target.shape[-2:]), mask_grow, edge_feather)
    if matte is not None:
        alpha = finite_mask(matte) * (alpha if matte_mode == "multiply" else 1.0)
    alpha_t = torch.as_tensor(alpha, dtype=target.dtype, device=target.device)[None, None]
    alpha_t = alpha_t.mul_(cover)  # alpha is this function's own array
    source = torch.lerp(target, warped, cover)  # cover is 0 or 1: either image, exactly
    return blend_under(target, source, alpha_t, plate_levels=plate_levels,
                       mask_sigma=mask_sigma, blend=blend), alpha_t


def blend_under(target: torch.Tensor, source: torch.Tensor, alpha: torch.Tensor, *,
                plate_levels: int = 2, mask_sigma: float = 2.0,
                blend: Blend = multiband_blend) -> torch.Tensor:
    """Algorithm 1 under the hard mask ``alpha > 0.5`` (the blend smooths it level by
    level), then laid over ``target`` with ``alpha``, the soft final edge.

    target, source: (B, C, h, w), same device and dtype; alpha: (B, 1, h, w) in [0, 1].
    blend: the multi-band blend to use (:data:`Blend`).
    Returns (B, C, h, w): ``target + alpha * (blended - target)`` (``torch.lerp``, one
    pass), the values of ``target`` wherever ``alpha`` is 0 and of ``blended`` where 1.
    The pyramid sees the plate :func:`without_highlights` (the source too, where it is the
    plate).
    """
    hard = (alpha > 0.5).to(target.dtype)
    under = without_highlights(target, alpha)
    blended = blend(torch.where(source == target, under, source), under, hard,
                    plate_levels=plate_levels, mask_sigma=mask_sigma)
    return torch.lerp(target, blended, alpha, out=blended)  # blended is a new tensor


HIGHLIGHT_FACTOR = 4.0
"""A pixel whose largest channel is above this many times the median of the face region is
a highlight."""


def without_highlights(target: torch.Tensor, alpha: torch.Tensor,
                       factor: float | None = None) -> torch.Tensor:
    """``target`` (B, C, h, w) with its highlights (speculars, eye glints, a hot pixel)
    replaced by the median of the face region: the pixels whose largest channel is above
    ``factor`` (default :data:`HIGHLIGHT_FACTOR`) times the median, over the pixels where
    ``alpha`` (B, 1, h, w) > 0, of each pixel's largest channel. The pyramid blend sees the
    plate so, and a highlight's energy is not spread by its coarse levels over the new face
    (a 65504 hot pixel made a blob of hundreds of pixels above 10); the final ``lerp`` with
    the plate as it is keeps each highlight, at its own pixels, where the plate shows
    through (alpha < 1)."""
    factor = HIGHLIGHT_FACTOR if factor is None else factor
    peak = target.amax(1, keepdim=True)
    region = peak[alpha > 0]
    if region.numel() == 0:
        return target
    median = region.float().nanmedian().to(target.dtype)
    if not median > 0:
        return target
    return torch.where(peak > factor * median, median, target)


def roi_pad(edge_feather: float, mask_grow: float) -> float:
    """Pixels the ROI must reach beyond the crop so the final alpha fits inside it."""
    return max(0.0, mask_grow) + 4.0 * edge_feather + 2.0 + math.ceil(edge_feather)
