"""Affine image warps in the pixel-centre convention of :mod:`faceswap_vfx.core.geometry`.

Torch; device and dtype follow the image. The matrix is taken as data (no gradient flows
to it); gradients flow to the image. Float32 CPU images without gradients go through the
compiled kernels of :mod:`~faceswap_vfx.core.warp_kernel` when built (same values).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from faceswap_vfx.core import warp_kernel
from faceswap_vfx.core.filters import check_image, gaussian_blur

__all__ = ["MODES", "PADDINGS", "antialias_sigma", "warp_affine"]

MODES = ("bilinear", "bicubic", "nearest")
PADDINGS = ("zeros", "border")

_SUPPORT = 3  # source pixels an output pixel may read around its sample (bicubic: 2)


def antialias_sigma(scale: float) -> float:
    """Gaussian prefilter sigma, in source pixels, before sampling at ``scale`` dst px per
    src px: ``0.5 * sqrt(1/scale**2 - 1)`` (a 0.5 output-pixel blur less the source's own
    pixel footprint); 0 when not minifying."""
    if scale >= 1.0:
        return 0.0
    return 0.5 * math.sqrt(1.0 / (scale * scale) - 1.0)


def _matrices(m: torch.Tensor | np.ndarray, batch: int) -> np.ndarray:
    """(3, 3) or (B, 3, 3) affine ``dst_from_src`` -> (B, 3, 3) float64 numpy."""
    if isinstance(m, torch.Tensor):
        m = m.detach().to("cpu", torch.float64).numpy()
    m = np.asarray(m, dtype=np.float64)
    if m.shape == (3, 3):
        m = np.broadcast_to(m, (batch, 3, 3))
    if m.shape != (batch, 3, 3):
        raise ValueError(f"dst_from_src must have shape (3, 3) or ({batch}, 3, 3), got {m.shape}")
    if not np.all(np.isfinite(m)):
        raise ValueError("dst_from_src has non-finite values")
    if not np.allclose(m[:, 2], (0.0, 0.0, 1.0), rtol=0.0, atol=1e-12):
        raise ValueError("dst_from_src must be affine (last row 0, 0, 1)")
    if np.any(np.abs(np.linalg.det(m[:, :2, :2])) < 1e-12):
        raise ValueError("dst_from_src is singular")
    return m


def _source_points(
    src_from_dst: np.ndarray, out_size: tuple[int, int], image: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Source coordinates ``(x, y)``, each (B, h, w), read by the output pixel centres:
    ``src_from_dst @ [j + 0.5, i + 0.5, 1]``. float64 (float32 where the device has none)."""
    h, w = out_size
    work = torch.float32 if image.device.type == "mps" else torch.float64
    m = torch.as_tensor(src_from_dst, dtype=work, device=image.device)  # (B, 3, 3)
    xs = torch.arange(w, dtype=work, device=image.device) + 0.5
    ys = torch.arange(h, dtype=work, device=image.device)[:, None] + 0.5
    x = m[:, 0, 0, None, None] * xs + m[:, 0, 1, None, None] * ys + m[:, 0, 2, None, None]
    y = m[:, 1, 0, None, None] * xs + m[:, 1, 1, None, None] * ys + m[:, 1, 2, None, None]
    return x, y


def _grid(
    x: torch.Tensor, y: torch.Tensor, src_size: tuple[int, int], dtype: torch.dtype
) -> torch.Tensor:
    """Pixel coordinates -> grid_sample grid (B, h, w, 2) for ``align_corners=False``,
    where -1 and +1 are the outer edges of the first and last pixels."""
    src_h, src_w = src_size
    return torch.stack((2.0 * x / src_w - 1.0, 2.0 * y / src_h - 1.0), dim=-1).to(dtype)


def _keys_weights(t: torch.Tensor, dtype: torch.dtype) -> list[torch.Tensor]:
    """Keys cubic convolution (a = -0.5, Catmull-Rom) weights of the taps at -1, 0, 1, 2
    for fractional offsets ``t`` in [0, 1); reproduces polynomials up to degree 2.
    Computed in ``dtype`` (the offsets are exact in it to ~1e-7 px)."""
    t = t.to(dtype)
    t2, t3 = t * t, t * t * t
    w = (
        -0.5 * t3 + t2 - 0.5 * t,
        1.5 * t3 - 2.5 * t2 + 1.0,
        -1.5 * t3 + 2.0 * t2 + 0.5 * t,
        0.5 * t3 - 0.5 * t2,
    )
    return [wi[:, None] for wi in w]  # (B, 1, h, w) each


def _sample(
    image: torch.Tensor, x: torch.Tensor, y: torch.Tensor, mode: str, padding: str
) -> torch.Tensor:
    """Sample (B, C, H, W) ``image`` at pixel coordinates ``x``, ``y`` (B, h, w)."""
    size = image.shape[-2:]
    if mode != "bicubic":
        grid = _grid(x, y, size, image.dtype)
        return F.grid_sample(image, grid, mode=mode, padding_mode=padding, align_corners=False)
    # torch's bicubic uses a = -0.75, which does not reproduce a linear ramp and moves
    # features by up to 0.07 px; sum 4 x 4 exact pixel taps with Keys weights instead
    u, v = x - 0.5, y - 0.5  # pixel-index coordinates
    iu, iv = torch.floor(u), torch.floor(v)
    wu, wv = _keys_weights(u - iu, image.dtype), _keys_weights(v - iv, image.dtype)
    taps = _pixel_taps(image, iu, iv, padding)
    out = None
    for a in range(4):
        row = wu[0] * taps(-1, a - 1)
        for b in range(1, 4):
            row.addcmul_(wu[b], taps(b - 1, a - 1))
        out = row.mul_(wv[a]) if out is None else out.addcmul_(wv[a], row)
    return out


def _resample(image: torch.Tensor, src_from_dst: np.ndarray, out_size: tuple[int, int],
              mode: str, padding: str) -> torch.Tensor:
    """(B, C, H, W) ``image`` at the output pixel centres mapped by (B, 3, 3)
    ``src_from_dst``: the compiled Keys kernel for float32 CPU bicubic when it is built
    (:mod:`~faceswap_vfx.core.warp_kernel`, same values), else :func:`_sample`."""
    if mode == "bicubic" and warp_kernel.supports(image):
        return warp_kernel.warp_keys(image, src_from_dst, out_size, padding)
    x, y = _source_points(src_from_dst, out_size, image)
    return _sample(image, x, y, mode, padding)


def _pixel_taps(image: torch.Tensor, iu: torch.Tensor, iv: torch.Tensor, padding: str):
    """``taps(dx, dy)``: (B, C, h, w), the pixels at integer indices ``(iu + dx, iv + dy)``
    (iu, iv: (B, h, w), integer valued), 0 or the nearest edge pixel outside the image
    (``padding``), for -1 <= dx, dy <= 2: what ``grid_sample(mode="nearest")`` reads at
    those pixel centres, gathered directly (one index per tap, no sampling grid)."""
    b, c, src_h, src_w = image.shape
    p = 2  # pixels of padding: every index outside the image lands on one of them
    padded = F.pad(image, (p, p, p, p), mode="constant" if padding == "zeros" else "replicate")
    flat = padded.reshape(b, c, -1)
    pitch = src_w + 2 * p
    cols = {d: (iu + d).clamp_(-p, src_w - 1 + p).long() + p for d in range(-1, 3)}
    rows = {d: ((iv + d).clamp_(-p, src_h - 1 + p).long() + p) * pitch for d in range(-1, 3)}
    shape = (b, c, *iu.shape[-2:])

    def taps(dx: int, dy: int) -> torch.Tensor:
        index = (rows[dy] + cols[dx]).view(b, 1, -1).expand(b, c, -1)
        return torch.gather(flat, 2, index).view(shape)

    return taps


def _footprint(
    src_from_dst: np.ndarray, out_size: tuple[int, int], src_size: tuple[int, int], pad: int
) -> tuple[int, int, int, int]:
    """Source window ``(x0, y0, x1, y1)`` (pixel indices, clamped, never empty) holding every
    source pixel the output can read, ``pad`` pixels beyond the mapped output rectangle."""
    h, w = out_size
    corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], dtype=np.float64)
    p = corners @ src_from_dst[:2].T
    lo = np.floor(p.min(axis=0)) - pad
    hi = np.ceil(p.max(axis=0)) + pad
    src_h, src_w = src_size
    x0 = int(np.clip(lo[0], 0, src_w - 1))
    y0 = int(np.clip(lo[1], 0, src_h - 1))
    x1 = int(np.clip(hi[0], x0 + 1, src_w))
    y1 = int(np.clip(hi[1], y0 + 1, src_h))
    return x0, y0, x1, y1


def warp_affine(
    image: torch.Tensor,
    dst_from_src: torch.Tensor | np.ndarray,
    out_size: tuple[int, int],
    mode: str = "bilinear",
    antialias: bool = True,
    padding: str = "zeros",
) -> torch.Tensor:
    """Warp ``image`` by an affine ``dst_from_src`` into an image of ``out_size``.

    image: (B, C, H, W) floating tensor, any range (HDR, negative values kept).
    dst_from_src: (3, 3) or (B, 3, 3) affine matrix, tensor or array, mapping source
    pixel coordinates to output pixel coordinates (pixel centres at +0.5, see
    :mod:`faceswap_vfx.core.geometry`). out_size: ``(h, w)`` of the output.
    mode: ``"bilinear"``, ``"bicubic"`` (Keys cubic convolution, a = -0.5, as Nuke's
    "Keys" filter; exact on linear ramps) or ``"nearest"``. antialias: when the warp
    minifies (smallest singular value ``s < 1``), blur the source first with a Gaussian of
    :func:`antialias_sigma` (not for ``"nearest"``). padding: what lies outside the source,
    ``"zeros"`` or ``"border"`` (edge pixels repeated).
    Returns (B, C, h, w), the image's dtype and device.
    """
    check_image(image)
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if padding not in PADDINGS:
        raise ValueError(f"padding must be one of {PADDINGS}, got {padding!r}")
    if len(out_size) != 2 or any(int(v) != v or v < 1 for v in out_size):
        raise ValueError(f"out_size must be (h, w) positive integers, got {out_size}")
    out_size = (int(out_size[0]), int(out_size[1]))
    b, _, src_h, src_w = image.shape
    if b == 0 or src_h == 0 or src_w == 0:
        raise ValueError(f"image is empty: shape {tuple(image.shape)}")
    dst_from_src = _matrices(dst_from_src, b)
    if image.dtype not in (torch.float32, torch.float64):  # half: sample in float32,
        out = warp_affine(image.float(), dst_from_src, out_size, mode, antialias, padding)
        return out.to(image.dtype)  # as fp16 grids would be ~1 px coarse on 4K plates
    src_from_dst = np.linalg.inv(dst_from_src)
    scales = np.linalg.svd(dst_from_src[:, :2, :2], compute_uv=False).min(axis=1)  # (B,)

    if not antialias or mode == "nearest" or np.all(scales >= 1.0):
        return _resample(image, src_from_dst, out_size, mode, padding)

    out = []
    for i in range(b):  # each item its own prefilter, on the source window it reads
        sigma = antialias_sigma(float(scales[i]))
        pad = (math.ceil(3.0 * sigma) if sigma > 0 else 0) + _SUPPORT
        x0, y0, x1, y1 = _footprint(src_from_dst[i], out_size, (src_h, src_w), pad)
        src = image[i : i + 1, :, y0:y1, x0:x1]
        window_from_dst = src_from_dst[i : i + 1].copy()
        window_from_dst[:, 0] -= x0 * window_from_dst[:, 2]
        window_from_dst[:, 1] -= y0 * window_from_dst[:, 2]
        if mode == "bicubic" and warp_kernel.supports(src):  # blurred as the kernel packs it
            out.append(warp_kernel.warp_keys(src, window_from_dst, out_size, padding, sigma))
        else:
            out.append(_resample(_blur(src, sigma), window_from_dst, out_size, mode, padding))
    return torch.cat(out, dim=0)


def _blur(image: torch.Tensor, sigma: float) -> torch.Tensor:
    """:func:`gaussian_blur` of ``image`` (as is for sigma 0): compiled for float32 CPU when
    the warp kernel is built (:func:`warp_kernel.gaussian_blur`, same values)."""
    if sigma <= 0:
        return image
    if warp_kernel.supports(image):
        return warp_kernel.gaussian_blur(image, sigma)
    return gaussian_blur(image, sigma)
