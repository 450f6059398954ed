"""Temporal stabilisation of landmarks: per-frame refinement, then zero-phase smoothing.

(a) :func:`refine`: re-run the shape predictor on the face warped upright to a canonical
crop, once on the canonical box and on ``jitter`` slightly shifted and scaled boxes, and
average the results mapped back to the plate. The predictor then starts from the same
place relative to the face in every frame, instead of from a detector box that jumps.

(b) :func:`smooth`: a Butterworth low-pass run forwards and backwards over each track
(zero phase: no lag), with the ends padded by a least-squares line through the nearest
frames so that steady motion passes unchanged up to the first and last frame.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import dlib
import numpy as np
import torch
from scipy import signal

from faceswap_vfx.core.geometry import apply, fit_similarity, invert
from faceswap_vfx.core.template import TEMPLATE_68
from faceswap_vfx.core.warp import antialias_sigma, warp_affine
from faceswap_vfx.face import models
from faceswap_vfx.face.convert import check_image_u8, points_from_shape, rect_from_box
from faceswap_vfx.face.track import Track

BOX_IN_TEMPLATE = (-0.531, -0.6, 0.531, 0.462)
"""Where dlib's HOG detector puts its box around :data:`TEMPLATE_68`, template units:
centre (0, -0.068), side 1.062. Measured over the bundled portraits (mirrored, scaled
0.8-1.3x, turned -5..5 degrees): centre std 0.03, side std 0.1. The 68-point predictor
was trained on such boxes, so the canonical box copies them."""

REFINE_BOX = 128
"""Side of the canonical box in the refinement crop, px."""
REFINE_SIZE = 192
"""Side of the refinement crop, px (the canonical box centred, 32 px around it)."""
JITTER_SHIFT = 0.03
"""Jittered boxes move by this fraction of the box side and scale by 1 +/- it."""


def refine_crop_from_template() -> np.ndarray:
    """(3, 3) template units -> refinement crop px: canonical box centred, REFINE_BOX wide."""
    x0, y0, x1, y1 = BOX_IN_TEMPLATE
    k = REFINE_BOX / (x1 - x0)
    c = REFINE_SIZE / 2.0
    return np.array([[k, 0.0, c - k * (x0 + x1) / 2], [0.0, k, c - k * (y0 + y1) / 2],
                     [0.0, 0.0, 1.0]])


def jitter_rects(jitter: int) -> list[dlib.rectangle]:
    """The canonical rectangle in the refinement crop, then ``jitter`` perturbed ones:
    shifted around a circle and alternately scaled up and down (so they average out)."""
    c, d = REFINE_SIZE / 2.0, JITTER_SHIFT * REFINE_BOX
    boxes = [(c - REFINE_BOX / 2, c - REFINE_BOX / 2, c + REFINE_BOX / 2, c + REFINE_BOX / 2)]
    for k in range(jitter):
        t = 2 * math.pi * k / jitter + math.pi / 4
        cx, cy = c + d * math.cos(t), c + d * math.sin(t)
        half = REFINE_BOX * (1 + JITTER_SHIFT * (1 if k % 2 == 0 else -1)) / 2
        boxes.append((cx - half, cy - half, cx + half, cy + half))
    return [rect_from_box(b) for b in boxes]


def _crop(image_u8: np.ndarray, crop_from_plate: np.ndarray) -> np.ndarray:
    """The refinement crop (REFINE_SIZE^2, 3) uint8, read from the plate window it needs."""
    h, w = image_u8.shape[:2]
    plate_from_crop = invert(crop_from_plate)
    s = REFINE_SIZE
    corners = apply(plate_from_crop, np.array([[0, 0], [s, 0], [0, s], [s, s]], float))
    scale = math.sqrt(abs(np.linalg.det(crop_from_plate[:2, :2])))
    pad = math.ceil(3 * antialias_sigma(scale)) + 3
    x0, y0 = np.clip(np.floor(corners.min(0)).astype(int) - pad, 0, (w - 1, h - 1))
    x1, y1 = np.clip(np.ceil(corners.max(0)).astype(int) + pad, (x0 + 1, y0 + 1), (w, h))
    window = torch.from_numpy(np.ascontiguousarray(image_u8[y0:y1, x0:x1]))
    window = window.permute(2, 0, 1)[None].to(torch.float32)  # (1, 3, h, w)
    crop_from_window = crop_from_plate @ np.array([[1.0, 0, x0], [0, 1.0, y0], [0, 0, 1.0]])
    out = warp_affine(window, crop_from_window, (s, s), mode="bilinear", antialias=True,
                      padding="border")
    return out[0].permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8).numpy()


def refine(image_u8: np.ndarray, landmarks: np.ndarray, jitter: int = 4,
           model: str | Path | None = None, passes: int = 1) -> np.ndarray:
    """Landmarks re-predicted on the aligned crop and ``jitter`` jittered boxes, averaged.

    image_u8: (H, W, 3) uint8 display-referred frame. landmarks: (68, 2) plate px, a first
    estimate (e.g. from the detector's box). passes: times the crop is re-fitted to the
    latest estimate. Returns (68, 2) float64 plate px.
    """
    image_u8 = check_image_u8(image_u8)
    pts = np.asarray(landmarks, dtype=np.float64)
    if pts.shape != (68, 2) or not np.all(np.isfinite(pts)):
        raise ValueError(f"landmarks must be (68, 2) finite, got {pts.shape}")
    predictor = models.shape_predictor(model, 68)
    template_px = apply(refine_crop_from_template(), TEMPLATE_68)
    rects = jitter_rects(int(jitter))
    for _ in range(passes):
        crop_from_plate = fit_similarity(pts, template_px)
        crop = _crop(image_u8, crop_from_plate)
        found = np.mean([points_from_shape(predictor(crop, r)) for r in rects], axis=0)
        pts = apply(invert(crop_from_plate), found)
    return pts


def _line_pad(x: np.ndarray, pad: int, fit: int) -> np.ndarray:
    """x (n, ...) extended by ``pad`` frames each end along a least-squares line through
    its nearest ``fit`` frames."""
    n = x.shape[0]
    flat = x.reshape(n, -1)
    t = np.arange(n, dtype=np.float64)

    def line(idx: np.ndarray, at: np.ndarray) -> np.ndarray:
        a = np.stack([t[idx], np.ones(len(idx))], axis=1)
        coef, *_ = np.linalg.lstsq(a, flat[idx], rcond=None)  # (2, D)
        return np.stack([at, np.ones(len(at))], axis=1) @ coef

    head = line(np.arange(fit), np.arange(-pad, 0, dtype=np.float64))
    tail = line(np.arange(n - fit, n), np.arange(n, n + pad, dtype=np.float64))
    return np.concatenate([head, flat, tail]).reshape((n + 2 * pad,) + x.shape[1:])


def smooth(series: np.ndarray, cutoff: float = 0.2, order: int = 2) -> np.ndarray:
    """Zero-phase low-pass of a series of points over time.

    series: (T, ...) float, e.g. (T, 68, 2) landmarks of one track in plate px, all finite
    (smooth each run of frames with a face separately). cutoff: cycles/frame, in (0, 0.5];
    0.5 or more returns the input. The response is a Butterworth of ``order`` applied
    forwards then backwards (``scipy.signal.filtfilt``), so its magnitude is squared and its
    phase is zero: motion is not delayed. Each end is padded with the least-squares line
    through its nearest ``1 / cutoff`` frames: constant and linear motion pass exactly,
    ends too; accelerating motion is bent a little in the first and last frames.
    Returns the same shape, float64.
    """
    x = np.asarray(series, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise ValueError("series has non-finite values: smooth each run of faces on its own")
    if not 0 < cutoff:
        raise ValueError(f"cutoff must be > 0 cycles/frame, got {cutoff}")
    n = x.shape[0]
    if cutoff >= 0.5 or n < 3:
        return x.copy()
    b, a = signal.butter(order, cutoff / 0.5)
    pad = max(3 * order, math.ceil(3.0 / cutoff))  # lets the filter settle before frame 0
    fit = int(np.clip(round(1.0 / cutoff), 2, n))  # one cut-off period: noise vs curvature
    padded = _line_pad(x, pad, fit)
    return signal.filtfilt(b, a, padded, axis=0, padlen=0)[pad:pad + n]


def smooth_track(track: Track, cutoff: float = 0.2) -> Track:
    """A copy of ``track`` with each run of present frames :func:`smooth`-ed on its own
    (no smoothing across NO_FACE gaps). Boxes, scores and flags are kept."""
    out = replace(track, landmarks=track.landmarks.copy())
    for start, stop in track.runs():
        out.landmarks[start:stop] = smooth(track.landmarks[start:stop], cutoff)
    return out
