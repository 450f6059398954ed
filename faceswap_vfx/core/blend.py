"""The multi-band blend of Naruniec et al. 2020, Algorithm 1 (after Burt & Adelson 1983).

The generated face S and the plate T are split into Laplacian pyramids. Level by level, a
face mask at that level's size, Gaussian-smoothed with ``mask_sigma`` (in that level's
pixels), chooses where the output comes from: outside the face always the plate; inside
the face the plate for the coarsest ``plate_levels`` levels (which keeps the plate's light
and contrast) and the generated face for the finer ones (which gives the detail).

Levels are counted as in the paper: ``n = ceil(log2(min(H, W)))`` levels, the coarsest
about 2 pixels across, the finest full resolution.

Two implementations give the same result (to float32 rounding): float32 CPU inputs go to a
compiled C kernel (:mod:`faceswap_vfx.core.blend_kernel`: eager torch makes ~25 passes over
the full-resolution pixels, the kernel two, reading any layout in place, ~7x faster);
everything else (GPU, float64, inputs needing gradients), or every input when the kernel
was not built (no C compiler at install) or ``FACESWAP_VFX_BLEND=torch`` is set, takes the
torch path below. :func:`implementation` says which one a call takes.
"""

from __future__ import annotations

import math
import os

import numpy as np
import torch
import torch.nn.functional as F

from faceswap_vfx.core import blend_kernel
from faceswap_vfx.core.filters import check_image, gaussian_blur
from faceswap_vfx.core.pyramid import gaussian_pyramid, pyr_up

IMPLEMENTATION_ENV = "FACESWAP_VFX_BLEND"  # "torch": never the kernel; "auto" (default)


def blend_levels(height: int, width: int) -> int:
    """The paper's level count n = log2 r for an r x r face, generalised to any size."""
    return max(1, math.ceil(math.log2(max(2, min(height, width)))))


def cpu_kernel_available() -> bool:
    """Whether the compiled CPU kernel was built and loads."""
    return blend_kernel.available()


def implementation(source: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> str:
    """``"kernel"`` (the compiled CPU kernel) or ``"torch"``: which one
    :func:`multiband_blend` uses for these inputs (and :data:`IMPLEMENTATION_ENV`)."""
    choice = os.environ.get(IMPLEMENTATION_ENV, "auto").strip().lower() or "auto"
    if choice not in ("auto", "torch"):
        raise ValueError(f"{IMPLEMENTATION_ENV} must be 'auto' or 'torch', got {choice!r}")
    if choice == "auto" and blend_kernel.supports(source, target, mask):
        return "kernel"
    return "torch"


def level_masks(mask: torch.Tensor, sizes: list[tuple[int, int]], sigma: float
                ) -> list[torch.Tensor]:
    """The face mask at each size (area-averaged down from full resolution), each
    Gaussian-smoothed with ``sigma`` of its own pixels. mask: (B, 1, H, W) in [0, 1]."""
    out = []
    pooled = mask  # the finest exact area average so far: pooling from it is exact
    for size in sizes:
        h, w = pooled.shape[-2:]
        if (h, w) == tuple(size):
            m = pooled
        elif h % size[0] == 0 and w % size[1] == 0:
            m = F.avg_pool2d(pooled, (h // size[0], w // size[1]))
        else:  # uneven windows: average from full resolution
            m = F.adaptive_avg_pool2d(mask, size)
        if h % size[0] == 0 and w % size[1] == 0:
            pooled = m
        out.append(_blur_support(m, sigma).clamp_(0.0, 1.0))
    return out


def _blur_support(mask: torch.Tensor, sigma: float) -> torch.Tensor:
    """:func:`gaussian_blur` of a (B, 1, h, w) mask, computed only over the bounding box of
    its nonzero pixels grown by the kernel's radius: outside it the blur is exactly 0, and
    inside it every window reads what it would in the whole mask (zeros or replicated
    edges), so the result is the same, bit for bit."""
    if sigma <= 0:
        return mask.clone()
    nonzero = mask.ne(0).flatten(0, 1).any(0)  # (h, w)
    rows = np.flatnonzero(nonzero.any(1).cpu().numpy())
    cols = np.flatnonzero(nonzero.any(0).cpu().numpy())
    if rows.size == 0:
        return torch.zeros_like(mask)
    r = max(1, math.ceil(3.0 * sigma))
    h, w = mask.shape[-2:]
    y0, y1 = max(0, int(rows[0]) - r), min(h, int(rows[-1]) + 1 + r)
    x0, x1 = max(0, int(cols[0]) - r), min(w, int(cols[-1]) + 1 + r)
    if (y1 - y0) * (x1 - x0) > 0.8 * h * w:
        return gaussian_blur(mask, sigma)
    out = torch.zeros_like(mask)
    out[..., y0:y1, x0:x1] = gaussian_blur(mask[..., y0:y1, x0:x1], sigma)
    return out


def _span(t: torch.Tensor) -> tuple[int, int]:
    """The first and one past the last byte address ``t`` can touch."""
    lo = hi = t.data_ptr()
    for size, stride in zip(t.shape, t.stride(), strict=True):
        reach = (size - 1) * stride * t.element_size()
        lo, hi = (lo, hi + reach) if stride >= 0 else (lo + reach, hi)
    return lo, hi + t.element_size()


def check_out(out: torch.Tensor, source: torch.Tensor, target: torch.Tensor,
              mask: torch.Tensor) -> None:
    """Raise ValueError unless ``out`` can take :func:`multiband_blend`'s result: the
    target's shape, dtype and device, and no memory shared with an input other than being
    exactly ``target`` or ``source`` (same pixels, same strides)."""
    if not isinstance(out, torch.Tensor) or out.shape != target.shape or \
            out.dtype != target.dtype or out.device != target.device:
        raise ValueError(f"out must be a {tuple(target.shape)} {target.dtype} tensor on "
                         f"{target.device}, got {getattr(out, 'shape', type(out))}")
    lo, hi = _span(out)
    for name, t in (("source", source), ("target", target), ("mask", mask)):
        if t.device != out.device or t.numel() == 0:
            continue
        t_lo, t_hi = _span(t)
        same = (name != "mask" and t.data_ptr() == out.data_ptr()
                and t.stride() == out.stride() and t.dtype == out.dtype)
        if lo < t_hi and t_lo < hi and not same:
            raise ValueError(f"out shares memory with {name}: it may only be exactly "
                             "target or source (the same pixels and strides)")


def multiband_blend(source: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
                    plate_levels: int = 2, mask_sigma: float = 2.0,
                    levels: int | None = None, out: torch.Tensor | None = None
                    ) -> torch.Tensor:
    """Blend the generated face ``source`` into the plate ``target`` under ``mask``.

    source, target: (B, C, H, W) float, same shape, any device (scene-linear or log: the
    blend is linear in its inputs). mask: (B, 1, H, W) in [0, 1], 1 on the face (e.g. the
    polygon of the outer landmarks, rasterised). plate_levels: K, the coarsest levels taken
    from the plate inside the face (2 in the paper). mask_sigma: Gaussian sigma in pixels of
    each level. levels: pyramid depth, default :func:`blend_levels`. out: optional
    (B, C, H, W) tensor of ``target``'s dtype and device to write the result into; it may
    be ``target`` (or ``source``) itself, e.g. the plate's ROI for a blend straight into
    the plate, but must not otherwise share memory with an input.
    Returns the blended (B, C, H, W) (``out`` when given), same device and dtype as
    ``target`` (from the C kernel: channels-last in memory when ``target`` is).

    Computed as ``target + collapse(m_i * L_i(source - target))`` over the face's levels
    (the pyramids are linear, so this is Algorithm 1's
    ``collapse(t_i + m_i (s_i - t_i))``): one pyramid instead of two, none for the plate's
    levels, and ``target`` itself wherever every level's mask is 0.
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
    if out is not None:
        check_out(out, source, target, mask)
    n = levels or blend_levels(h, w)
    face_levels = n - plate_levels  # finest first: levels 0 .. face_levels - 1
    if face_levels <= 0:
        return target.clone() if out is None else out.copy_(target)
    if implementation(source, target, mask) == "kernel":
        # the kernel reads each pixel of source and target before it writes it there
        return blend_kernel.blend(source, target, mask, n, face_levels, mask_sigma, out=out)
    if out is not None:
        return out.copy_(multiband_blend(source, target, mask, plate_levels, mask_sigma, n))
    target = target.contiguous()  # [BCHW]: views of (H, W, C) arrays are 4x slower to use
    diff = torch.sub(source.to(target.dtype).contiguous(), target)
    gauss = gaussian_pyramid(diff, min(n, face_levels + 1))
    masks = level_masks(mask.to(target.dtype), [tuple(g.shape[-2:]) for g in gauss]
                        [:face_levels], mask_sigma)
    bands = gauss[:face_levels]  # in place, finest first: level i + 1 is still Gaussian
    for i, band in enumerate(bands):
        if i < n - 1:
            band.sub_(pyr_up(gauss[i + 1], band.shape[-2:]))
        band.mul_(masks[i])
    image = bands[-1]  # the collapse, from the finest of the plate's levels (all zero)
    for band in reversed(bands[:-1]):
        image = band.add_(pyr_up(image, band.shape[-2:]))
    return image.add_(target)
