"""Synthetic plate sequences with known face motion, for tests and benches.

A portrait is placed into a larger plain plate by a known similarity per frame
(``plate_from_portrait``, continuous pixel coordinates of :mod:`faceswap_vfx.core.geometry`:
origin at the top-left corner, pixel centres at +0.5). Resampling uses
``scipy.ndimage`` so the ground truth is independent of :mod:`faceswap_vfx.core.warp`.
Compositing, exposure and sensor noise happen in linear light; frames come back
sRGB-encoded float32, like the portraits. Pure numpy/scipy, no files.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from scipy import ndimage

Motion = Callable[[int], np.ndarray]
"""``motion(frame_index) -> plate_from_portrait`` (3, 3) float64."""


def srgb_to_linear(v: np.ndarray) -> np.ndarray:
    """sRGB-encoded -> linear (IEC 61966-2-1 curve; extended: odd below 0, power above 1)."""
    v = np.asarray(v, dtype=np.float32)
    a = np.abs(v)
    lin = np.where(a <= 0.04045, a / 12.92, ((a + 0.055) / 1.055) ** 2.4)
    return (np.sign(v) * lin).astype(np.float32)


def linear_to_srgb(v: np.ndarray) -> np.ndarray:
    """Linear -> sRGB-encoded (inverse of :func:`srgb_to_linear`)."""
    v = np.asarray(v, dtype=np.float32)
    a = np.abs(v)
    enc = np.where(a <= 0.0031308, a * 12.92, 1.055 * a ** (1 / 2.4) - 0.055)
    return (np.sign(v) * enc).astype(np.float32)


def to_uint8(frame: np.ndarray) -> np.ndarray:
    """sRGB-encoded float (H, W, 3) -> uint8, clipped and rounded (the detector's view)."""
    return np.clip(np.asarray(frame) * 255.0 + 0.5, 0, 255).astype(np.uint8)


def place(portrait_hw: tuple[int, int], centre: Sequence[float], scale: float = 1.0,
          angle_deg: float = 0.0) -> np.ndarray:
    """``plate_from_portrait`` putting the portrait's centre at ``centre`` (x, y plate px),
    scaled by ``scale`` and turned ``angle_deg`` degrees clockwise on screen (y is down)."""
    h, w = portrait_hw
    t = math.radians(angle_deg)
    c, s = scale * math.cos(t), scale * math.sin(t)
    m = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    m[:2, 2] = np.asarray(centre, dtype=np.float64) - m[:2, :2] @ (w / 2.0, h / 2.0)
    return m


def linear_motion(portrait_hw: tuple[int, int], centre: Sequence[float], scale: float = 1.0,
                  velocity: Sequence[float] = (0.0, 0.0), spin: float = 0.0,
                  zoom: float = 0.0, angle_deg: float = 0.0) -> Motion:
    """Motion from :func:`place` at frame 0, then per frame: ``velocity`` (px/frame),
    ``spin`` (degrees/frame, clockwise), ``zoom`` (scale factor ``(1 + zoom)`` per frame)."""
    centre = np.asarray(centre, dtype=np.float64)
    vel = np.asarray(velocity, dtype=np.float64)

    def motion(i: int) -> np.ndarray:
        return place(portrait_hw, centre + i * vel, scale * (1.0 + zoom) ** i,
                     angle_deg + spin * i)

    return motion


PRESETS = ("static", "drift", "rotate", "zoom")
"""Named motions for :func:`synth_sequence` (see :func:`preset_motion`)."""


def preset_motion(name: str, portrait_hw: tuple[int, int], plate_size: tuple[int, int],
                  scale: float = 1.0) -> Motion:
    """A named motion, portrait centred in the plate: ``static``; ``drift`` (x +1.5, y +0.5
    px/frame); ``rotate`` (0.5 degree/frame); ``zoom`` (+0.5 %/frame)."""
    centre = (plate_size[1] / 2.0, plate_size[0] / 2.0)
    kwargs = {"static": {}, "drift": {"velocity": (1.5, 0.5)}, "rotate": {"spin": 0.5},
              "zoom": {"zoom": 0.005}}
    if name not in kwargs:
        raise ValueError(f"no motion preset {name!r}; choose from {', '.join(PRESETS)}")
    return linear_motion(portrait_hw, centre, scale, **kwargs[name])


def _resample(image: np.ndarray, plate_from_portrait: np.ndarray,
              plate_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Portrait (h, w, C) warped onto the plate: (H, W, C) values and (H, W) coverage."""
    h, w = plate_size
    scale = math.sqrt(abs(np.linalg.det(plate_from_portrait[:2, :2])))
    if scale < 1.0:  # antialias: blur the portrait before minifying it
        sigma = 0.5 * math.sqrt(1.0 / scale**2 - 1.0)
        image = ndimage.gaussian_filter(image, (sigma, sigma, 0), mode="nearest")
    # index (row, col) <-> continuous (x, y) = (col + 0.5, row + 0.5)
    cont_from_index = np.array([[0.0, 1.0, 0.5], [1.0, 0.0, 0.5], [0.0, 0.0, 1.0]])
    index_from_cont = np.linalg.inv(cont_from_index)
    src_from_dst = index_from_cont @ np.linalg.inv(plate_from_portrait) @ cont_from_index
    # only the plate window the portrait covers
    ph, pw = image.shape[:2]
    corners = np.array([[0, 0, 1], [pw, 0, 1], [0, ph, 1], [pw, ph, 1]], dtype=np.float64)
    xy = corners @ plate_from_portrait[:2].T
    x0, y0 = np.clip(np.floor(xy.min(0)).astype(int) - 1, 0, (w, h))
    x1, y1 = np.clip(np.ceil(xy.max(0)).astype(int) + 1, 0, (w, h))
    values = np.zeros((h, w, image.shape[2]), np.float32)
    cover = np.zeros((h, w), np.float32)
    if x1 <= x0 or y1 <= y0:
        return values, cover
    shift = np.array([[1.0, 0.0, y0], [0.0, 1.0, x0], [0.0, 0.0, 1.0]])
    m = src_from_dst @ shift
    out = (y1 - y0, x1 - x0)
    for c in range(image.shape[2]):
        values[y0:y1, x0:x1, c] = ndimage.affine_transform(
            image[..., c], m[:2, :2], m[:2, 2], output_shape=out, order=3, mode="nearest")
    cover[y0:y1, x0:x1] = ndimage.affine_transform(
        np.ones((ph, pw), np.float32), m[:2, :2], m[:2, 2], output_shape=out, order=1,
        mode="grid-constant", cval=0.0)
    return values, np.clip(cover, 0.0, 1.0)


def synth_sequence(
    portrait: np.ndarray | Sequence[np.ndarray],
    n_frames: int,
    plate_size: tuple[int, int] = (540, 960),
    motion: str | Motion | Sequence[str | Motion] = "static",
    *,
    scale: float | Sequence[float] = 1.0,
    background: float = 0.18,
    exposure: float | Callable[[int], float] = 0.0,
    noise: float = 0.0,
    seed: int = 0,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Frames of portraits moving through a plain plate, and their known motion.

    portrait: (h, w, 3) float sRGB-encoded, or a sequence of them (several faces; give
    ``motion`` and ``scale`` per portrait). plate_size: (H, W) px. motion: a
    :data:`PRESETS` name (portrait centred, ``scale``) or a :data:`Motion`. background:
    linear grey of the plate. exposure: stops, constant or ``f(frame_index)``, applied in
    linear light. noise: std dev of additive Gaussian sensor noise in linear units
    (``seed`` makes it repeatable).
    Returns ``frames``: n_frames float32 (H, W, 3) sRGB-encoded (HDR values may exceed 1)
    and ``plate_from_portrait``: per frame a (3, 3), or (P, 3, 3) for P portraits.
    """
    several = not isinstance(portrait, np.ndarray)
    portraits = list(portrait) if several else [portrait]
    motions = list(motion) if several and not isinstance(motion, str) else [motion] * len(
        portraits)
    scales = list(scale) if several and not np.isscalar(scale) else [scale] * len(portraits)
    if not len(motions) == len(scales) == len(portraits):
        raise ValueError("give one motion and one scale per portrait")
    linears = []
    for k, p in enumerate(portraits):
        if p.ndim != 3 or p.shape[2] != 3:
            raise ValueError(f"portrait {k} must have shape (h, w, 3), got {p.shape}")
        linears.append(srgb_to_linear(p))
        if isinstance(motions[k], str):
            motions[k] = preset_motion(motions[k], p.shape[:2], plate_size, scales[k])
    rng = np.random.default_rng(seed)
    frames, truth = [], []
    for i in range(n_frames):
        plate = np.full((*plate_size, 3), background, np.float32)
        mats = []
        for lin, mot in zip(linears, motions, strict=True):
            m = np.asarray(mot(i), dtype=np.float64)
            values, cover = _resample(lin, m, plate_size)
            plate = plate * (1.0 - cover[..., None]) + values * cover[..., None]
            mats.append(m)
        stops = exposure(i) if callable(exposure) else exposure
        plate = plate * np.float32(2.0**stops)
        if noise > 0:
            plate = plate + rng.normal(0.0, noise, plate.shape).astype(np.float32)
        frames.append(linear_to_srgb(plate))
        truth.append(np.stack(mats) if several else mats[0])
    return frames, truth
