"""Round-trip accuracy of plate -> crop -> plate warps, in pixels. Prints figures; not a test.

For random known similarities (crop scale 0.25..4 crop px per plate px, rotation +-30
degrees, subpixel translation) a plate is warped into a crop with
:func:`faceswap_vfx.core.warp.warp_affine` and back, then:

* dots: the centroids of Gaussian dots, after vs before, for bilinear and bicubic;
* pure grid: the plate is the coordinate ramps x and y themselves (interpolation of a
  linear function is exact, a symmetric prefilter leaves it unchanged), so after the
  crop the values must equal ``plate_from_crop`` applied to the crop's pixel centres,
  and after the round trip the plate's own pixel centres; the difference is the
  geometric error at every interior pixel.

Usage: python bench/align_roundtrip.py [--trials N] [--seed S] [--dtype float32]
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import torch

from faceswap_vfx.core.geometry import apply, invert
from faceswap_vfx.core.warp import antialias_sigma, warp_affine

PLATE = 192


def random_crop_from_plate(rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """A similarity putting the plate's centre (+ subpixel) at a crop's centre."""
    scale = math.exp(rng.uniform(math.log(0.25), math.log(4.0)))
    angle = math.radians(rng.uniform(-30.0, 30.0))
    size = max(16, int(PLATE * 0.6 * scale))
    c, s = scale * math.cos(angle), scale * math.sin(angle)
    m = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    centre = PLATE / 2 + rng.uniform(-0.5, 0.5, 2)
    m[:2, 2] = size / 2 + rng.uniform(-0.5, 0.5, 2) - m[:2, :2] @ centre
    return m, size


def pixel_centres(h: int, w: int) -> np.ndarray:
    """(h, w, 2) pixel-centre coordinates (x, y)."""
    y, x = np.mgrid[0:h, 0:w] + 0.5
    return np.stack((x, y), -1)


def tensor(a: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
    """(h, w) or (h, w, C) -> (1, C, h, w) float64."""
    a = a[..., None] if a.ndim == 2 else a
    return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))[None].to(dtype)


def round_trip(plate: np.ndarray, m: np.ndarray, size: int, mode: str, dtype: torch.dtype):
    crop = warp_affine(tensor(plate, dtype), m, (size, size), mode=mode)
    back = warp_affine(crop, invert(m), plate.shape[:2], mode=mode)
    return (crop[0].permute(1, 2, 0).double().numpy(), back[0].permute(1, 2, 0).double().numpy())


def dot_errors(m: np.ndarray, size: int, mode: str, dtype: torch.dtype) -> np.ndarray:
    """Centroid displacement (px) of Gaussian dots that survive the crop."""
    scale = math.sqrt(abs(np.linalg.det(m[:2, :2])))
    sigma = max(2.0, 1.5 / scale)
    step = 9.0 * sigma
    grid = np.arange(step, PLATE - step + 1, step)
    centres = np.stack(np.meshgrid(grid, grid), -1).reshape(-1, 2) + (0.31, -0.17)
    in_crop = apply(m, centres)
    border = 5.0 * sigma * scale
    centres = centres[np.all((in_crop > border) & (in_crop < size - border), axis=1)]
    pts = pixel_centres(PLATE, PLATE)
    d2 = ((pts[:, :, None, :] - centres) ** 2).sum(-1)
    plate = np.exp(-d2 / (2 * sigma**2)).sum(-1)
    _, back = round_trip(plate, m, size, mode, dtype)
    radius = 3.5 * math.hypot(sigma, antialias_sigma(1.0 / scale))
    errors = []
    for c in centres:
        win = ((pts - c) ** 2).sum(-1) <= radius**2
        before = (plate * win)[..., None] * pts
        after = (back[..., 0] * win)[..., None] * pts
        p0 = before.sum((0, 1)) / (plate * win).sum()
        p1 = after.sum((0, 1)) / (back[..., 0] * win).sum()
        errors.append(np.hypot(*(p1 - p0)))
    return np.array(errors)


def grid_errors(
    m: np.ndarray, size: int, mode: str, dtype: torch.dtype
) -> tuple[np.ndarray, np.ndarray]:
    """Forward and round-trip position errors (px) from warping the coordinate ramps."""
    ramps = pixel_centres(PLATE, PLATE)
    crop, back = round_trip(ramps, m, size, mode, dtype)
    scale = math.sqrt(abs(np.linalg.det(m[:2, :2])))
    # interior only: far from the crop's and the plate's edges (padding, prefilter)
    reach = 4.0 + 3.0 * (antialias_sigma(scale) + antialias_sigma(1.0 / scale) / scale)
    crop_pts = pixel_centres(size, size).reshape(-1, 2)
    want = apply(invert(m), crop_pts)
    ok = np.all((want > reach) & (want < PLATE - reach), axis=1)
    ok &= np.all((crop_pts > reach * scale) & (crop_pts < size - reach * scale), axis=1)
    forward = np.hypot(*(crop.reshape(-1, 2) - want)[ok].T)
    inside = np.all(
        (apply(m, ramps.reshape(-1, 2)) > reach * scale + 2)
        & (apply(m, ramps.reshape(-1, 2)) < size - reach * scale - 2),
        axis=1,
    )
    plate_pts = ramps.reshape(-1, 2)
    inside &= np.all((plate_pts > reach) & (plate_pts < PLATE - reach), axis=1)
    trip = np.hypot(*(back.reshape(-1, 2) - plate_pts)[inside].T)
    return forward, trip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    args = parser.parse_args()
    dtype = getattr(torch, args.dtype)
    rng = np.random.default_rng(args.seed)
    transforms = [random_crop_from_plate(rng) for _ in range(args.trials)]
    scales = [math.sqrt(np.linalg.det(m[:2, :2])) for m, _ in transforms]
    print(
        f"{args.trials} random similarities, crop scale {min(scales):.2f}..{max(scales):.2f}"
        f" crop px per plate px, rotation +-30 deg, plate {PLATE} px, {args.dtype};"
        " errors in px"
    )
    print(f"{'mode':9} {'check':18} {'mean':>9} {'max':>9} {'samples':>8}")
    for mode in ("bilinear", "bicubic"):
        dots, fwd, trip = [], [], []
        for m, size in transforms:
            dots.append(dot_errors(m, size, mode, dtype))
            f, t = grid_errors(m, size, mode, dtype)
            fwd.append(f)
            trip.append(t)
        for name, e in (
            ("dots round trip", dots),
            ("grid forward", fwd),
            ("grid round trip", trip),
        ):
            e = np.concatenate(e)
            print(f"{mode:9} {name:18} {e.mean():9.2e} {e.max():9.2e} {e.size:8d}")
    print("requirement: round trip within 0.1 px")


if __name__ == "__main__":
    main()
