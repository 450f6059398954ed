"""2D similarity geometry for face alignment: fits, crops, inversion, Nuke matrices.

Conventions, used by every module of ``faceswap_vfx``:

* Continuous pixel coordinates ``(x, y)``: x to the right, y down, origin at the
  top-left corner of the top-left pixel. Pixel centres are at +0.5: the pixel at
  row ``i``, column ``j`` of an array has its centre at ``(j + 0.5, i + 0.5)``, and an
  image of width ``W`` spans ``0 <= x <= W``.
* A transform is a 3x3 float64 numpy matrix acting on column vectors ``[x, y, 1]``,
  named by its frames: ``crop_from_plate`` maps plate coordinates to crop coordinates,
  so ``crop_pt = crop_from_plate @ plate_pt`` and
  ``a_from_c = a_from_b @ b_from_c``.
* Nuke's pixel origin is the bottom-left corner (y up, centres also at +0.5); convert
  with :func:`to_nuke_matrix` / :func:`from_nuke_matrix`, never by hand.
"""

from __future__ import annotations

import numpy as np

from faceswap_vfx.core.template import FACE_BOX, TEMPLATE_68

__all__ = [
    "FOREHEAD",
    "apply",
    "crop_from_plate",
    "crop_from_template",
    "fit_similarity",
    "from_nuke_matrix",
    "invert",
    "plate_from_crop",
    "scale_of",
    "to_nuke_matrix",
]

FOREHEAD = 0.35
"""How far the face reaches above the brow landmarks, in template units (face size 1).

The 68 landmarks stop at the brows; the crop adds this much above them so the forehead
is inside the face box that ``margin`` is measured from.
"""


def _points(name: str, a: np.ndarray, n: int | None = None) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] != 2:
        raise ValueError(f"{name} must have shape (N, 2), got {a.shape}")
    if n is not None and a.shape[0] != n:
        raise ValueError(f"{name} must have {n} points, got {a.shape[0]}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} has non-finite values")
    return a


def _matrix(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64)
    if m.shape != (3, 3):
        raise ValueError(f"transform must have shape (3, 3), got {m.shape}")
    return m


def fit_similarity(
    src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None = None
) -> np.ndarray:
    """Least-squares similarity ``dst_from_src`` (rotation, uniform scale, translation).

    src, dst: (N, 2) corresponding points, N >= 2. weights: (N,) non-negative, or None
    for equal weights. Returns a (3, 3) float64 matrix with a positive determinant (no
    reflection), by Umeyama's method (IEEE TPAMI 13(4), 1991). Raises ``ValueError`` on
    bad shapes, non-finite values, or a degenerate ``src`` (all points coincide).
    """
    src = _points("src", src)
    dst = _points("dst", dst, src.shape[0])
    n = src.shape[0]
    if n < 2:
        raise ValueError(f"a similarity needs at least 2 points, got {n}")
    if weights is None:
        w = np.full(n, 1.0 / n)
    else:
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != (n,) or not np.all(np.isfinite(w)) or np.any(w < 0):
            raise ValueError(f"weights must be {n} finite non-negative numbers")
        if np.count_nonzero(w) < 2:
            raise ValueError("weights must give at least 2 points a positive weight")
        w = w / w.sum()

    mu_src = w @ src
    mu_dst = w @ dst
    a = src - mu_src
    b = dst - mu_dst
    var_src = float(w @ np.sum(a * a, axis=1))
    if var_src <= 1e-12 * max(1.0, float(np.max(np.abs(src)))) ** 2:
        raise ValueError("src points are degenerate (they all coincide)")
    cov = (b * w[:, None]).T @ a  # (2, 2) = sum_i w_i b_i a_i^T
    u, d, vt = np.linalg.svd(cov)
    s = np.array([1.0, np.sign(np.linalg.det(u) * np.linalg.det(vt)) or 1.0])
    rot = u @ np.diag(s) @ vt
    scale = float(d @ s) / var_src
    if scale <= 0:
        raise ValueError("src and dst are degenerate (no positive-scale similarity fits)")
    m = np.eye(3)
    m[:2, :2] = scale * rot
    m[:2, 2] = mu_dst - scale * rot @ mu_src
    return m


def apply(m: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Map (N, 2) points through the (3, 3) transform ``m``; returns (N, 2) float64."""
    m = _matrix(m)
    p = np.asarray(points, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 2:
        raise ValueError(f"points must have shape (N, 2), got {p.shape}")
    h = p @ m[:2, :2].T + m[:2, 2]
    if np.any(m[2] != (0.0, 0.0, 1.0)):  # projective: divide by w
        h = h / (p @ m[2, :2] + m[2, 2])[:, None]
    return h


def invert(m: np.ndarray) -> np.ndarray:
    """Inverse of a (3, 3) transform: ``invert(b_from_a)`` is ``a_from_b``."""
    m = _matrix(m)
    if abs(np.linalg.det(m)) < 1e-15:
        raise ValueError("transform is singular")
    return np.linalg.inv(m)


def scale_of(m: np.ndarray) -> float:
    """Uniform scale of a (3, 3) transform: sqrt(|det|) of its 2x2 part (destination px per
    source px). For a similarity this is its exact scale."""
    m = _matrix(m)
    return float(np.sqrt(abs(np.linalg.det(m[:2, :2]))))


def crop_from_template(size: int, margin: float) -> np.ndarray:
    """Where :data:`TEMPLATE_68` sits in a ``size`` x ``size`` crop: (3, 3) ``crop_from_template``.

    The face box is the template's landmark box extended :data:`FOREHEAD` upwards; the
    crop is the square around it plus ``margin`` (a fraction of the face size, which is 1
    in template units) on every side, so its side is ``max(face box) + 2 * margin``.
    """
    if int(size) != size or size < 1:
        raise ValueError(f"crop size must be a positive integer, got {size}")
    if not np.isfinite(margin) or margin < 0:
        raise ValueError(f"crop margin must be >= 0, got {margin}")
    x0, y0, x1, y1 = FACE_BOX
    y0 -= FOREHEAD
    side = max(x1 - x0, y1 - y0) + 2.0 * margin  # template units
    k = size / side
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    return np.array([[k, 0.0, size / 2.0 - k * cx], [0.0, k, size / 2.0 - k * cy], [0, 0, 1.0]])


def crop_from_plate(landmarks: np.ndarray, size: int, margin: float) -> np.ndarray:
    """Similarity taking plate pixels to an aligned ``size`` x ``size`` face crop.

    landmarks: (68, 2) plate coordinates (iBUG/dlib order). The landmarks are fitted in
    least squares to :data:`TEMPLATE_68` placed by :func:`crop_from_template`, so the
    whole face with forehead and chin is in the crop. margin: extra border on each side
    as a fraction of the face size (parameter ``crop_margin``). Returns (3, 3) float64.
    """
    landmarks = _points("landmarks", landmarks, 68)
    return fit_similarity(landmarks, apply(crop_from_template(size, margin), TEMPLATE_68))


def plate_from_crop(landmarks: np.ndarray, size: int, margin: float) -> np.ndarray:
    """Inverse of :func:`crop_from_plate` (same arguments): crop pixels to plate pixels."""
    return invert(crop_from_plate(landmarks, size, margin))


def _flip_y(height: float) -> np.ndarray:
    """y' = height - y: top-left origin <-> Nuke's bottom-left origin (its own inverse)."""
    if not np.isfinite(height) or height <= 0:
        raise ValueError(f"image height must be positive, got {height}")
    return np.array([[1.0, 0.0, 0.0], [0.0, -1.0, float(height)], [0.0, 0.0, 1.0]])


def to_nuke_matrix(m: np.ndarray, src_height: float, dst_height: float) -> np.ndarray:
    """``dst_from_src`` in array coordinates (top-left origin) -> the same transform in
    Nuke coordinates (bottom-left origin, y up). Heights in pixels of each image."""
    return _flip_y(dst_height) @ _matrix(m) @ _flip_y(src_height)


def from_nuke_matrix(m: np.ndarray, src_height: float, dst_height: float) -> np.ndarray:
    """Inverse of :func:`to_nuke_matrix`: a Nuke ``dst_from_src`` -> array coordinates."""
    return _flip_y(dst_height) @ _matrix(m) @ _flip_y(src_height)
