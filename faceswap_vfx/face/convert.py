"""The boundary between dlib's integer pixel indices and our continuous coordinates.

faceswap_vfx coordinates (see :mod:`faceswap_vfx.core.geometry`): x right, y down, origin
at the top-left *corner* of the top-left pixel, pixel centres at +0.5. dlib instead
indexes pixels: a point ``(i, j)`` is the *centre* of column ``i``, row ``j``, and a
``dlib.rectangle(left, top, right, bottom)`` holds the pixels ``left..right`` and
``top..bottom`` inclusive. So, explicitly:

* dlib point ``(px, py)``           -> ``(px + 0.5, py + 0.5)``
* dlib rectangle ``l, t, r, b``      -> box ``(l, t, r + 1, b + 1)`` (its pixels' outer edges)
* box ``(x0, y0, x1, y1)``           -> ``rectangle(round(x0), round(y0), round(x1) - 1,
  round(y1) - 1)`` (dlib rectangles are integers; a box is rounded to whole pixels)
"""

from __future__ import annotations

from collections.abc import Sequence

import dlib
import numpy as np

Box = tuple[float, float, float, float]
"""(x0, y0, x1, y1) in continuous pixel coordinates: top-left and bottom-right corners."""


def check_image_u8(image: np.ndarray, name: str = "image") -> np.ndarray:
    """A display-referred 8-bit RGB frame (H, W, 3) uint8, C-contiguous (as dlib needs)."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise TypeError(f"{name} must be a uint8 numpy array (display-referred 8-bit), got "
                        f"{getattr(image, 'dtype', type(image))}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"{name} must have shape (H, W, 3), got {image.shape}")
    return np.ascontiguousarray(image)


def box_from_rect(rect: dlib.rectangle) -> Box:
    """dlib rectangle (inclusive pixel indices) -> continuous box."""
    return (float(rect.left()), float(rect.top()), float(rect.right() + 1),
            float(rect.bottom() + 1))


def rect_from_box(box: Sequence[float]) -> dlib.rectangle:
    """Continuous box -> dlib rectangle, rounded to whole pixels."""
    x0, y0, x1, y1 = (int(round(float(v))) for v in box)
    return dlib.rectangle(x0, y0, max(x0, x1 - 1), max(y0, y1 - 1))


def points_from_shape(shape: dlib.full_object_detection) -> np.ndarray:
    """dlib shape (pixel-centre indices) -> (N, 2) float64 continuous coordinates."""
    pts = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)
    return pts + 0.5


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two boxes (x0, y0, x1, y1); 0 when either is empty."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0
