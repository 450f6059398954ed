"""dlib's 68-point shape predictor on a face box, in continuous plate coordinates."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from faceswap_vfx.face import models
from faceswap_vfx.face.convert import check_image_u8, points_from_shape, rect_from_box

N_LANDMARKS = 68


def landmarks(image_u8: np.ndarray, box: Sequence[float],
              model: str | Path | None = None) -> np.ndarray:
    """The 68 iBUG landmarks of the face in ``box``.

    image_u8: (H, W, 3) uint8 display-referred frame. box: (x0, y0, x1, y1) continuous px,
    rounded to whole pixels for dlib. model: a 68-point ``.dat`` (empty: the bundled one).
    Returns (68, 2) float64 (x, y) in continuous px (dlib's pixel indices + 0.5).
    """
    return landmarks_many(image_u8, [box], model)[0]


def landmarks_many(image_u8: np.ndarray, boxes: Sequence[Sequence[float]],
                   model: str | Path | None = None) -> np.ndarray:
    """:func:`landmarks` for several boxes in one frame: (K, 68, 2) float64."""
    image_u8 = check_image_u8(image_u8)
    predictor = models.shape_predictor(model, N_LANDMARKS)
    out = np.empty((len(boxes), N_LANDMARKS, 2))
    for k, box in enumerate(boxes):
        if len(box) != 4 or not np.all(np.isfinite(np.asarray(box, dtype=np.float64))):
            raise ValueError(f"box must be 4 finite numbers (x0, y0, x1, y1), got {box!r}")
        out[k] = points_from_shape(predictor(image_u8, rect_from_box(box)))
    return out
