"""Face detectors behind one registry: ``detect(image_u8, "hog" | "cnn", upsample)``.

Detectors run on the display-referred 8-bit view of a plate (never on scene-linear
values). Boxes are continuous plate coordinates (:mod:`faceswap_vfx.face.convert`).
Scores are each detector's own: the HOG SVM margin (around 0 to 3) or the MMOD CNN
confidence; compare them within a detector only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from faceswap_vfx.errors import ParameterError
from faceswap_vfx.face import models
from faceswap_vfx.face.convert import Box, box_from_rect, check_image_u8


@dataclass(frozen=True)
class Detection:
    """One face found in one frame: ``box`` (x0, y0, x1, y1) in plate px, ``score``."""

    box: Box
    score: float

    @property
    def area(self) -> float:
        """Box area in px^2."""
        return max(0.0, self.box[2] - self.box[0]) * max(0.0, self.box[3] - self.box[1])


DetectorFn = Callable[[np.ndarray, int], list[Detection]]
"""``fn(image_u8 (H, W, 3) contiguous uint8, upsample) -> detections`` (any order)."""

DETECTORS: dict[str, DetectorFn] = {}
"""Registered detectors by name (the choices of parameter ``detector``)."""


def register_detector(name: str) -> Callable[[DetectorFn], DetectorFn]:
    """Decorator adding a detector function to :data:`DETECTORS` under ``name``."""

    def add(fn: DetectorFn) -> DetectorFn:
        if name in DETECTORS:
            raise ValueError(f"detector {name!r} registered twice")
        DETECTORS[name] = fn
        return fn

    return add


@register_detector("hog")
def _hog(image: np.ndarray, upsample: int) -> list[Detection]:
    rects, scores, _ = models.hog_detector().run(image, upsample, 0.0)
    return [Detection(box_from_rect(r), float(s)) for r, s in zip(rects, scores, strict=True)]


@register_detector("cnn")
def _cnn(image: np.ndarray, upsample: int) -> list[Detection]:
    found = models.cnn_detector()(image, upsample)
    return [Detection(box_from_rect(d.rect), float(d.confidence)) for d in found]


def detect(image_u8: np.ndarray, detector: str = "hog", upsample: int = 1) -> list[Detection]:
    """Faces in one display-referred frame, best score first.

    image_u8: (H, W, 3) uint8 sRGB-like view of the plate. detector: a name in
    :data:`DETECTORS`. upsample: times the frame is doubled first to find small faces
    (each roughly quadruples the time). Returns boxes in continuous plate px.
    """
    try:
        fn = DETECTORS[detector]
    except KeyError:
        raise ParameterError(f"parameter detector: {detector!r} is not one of "
                             f"{', '.join(DETECTORS)}") from None
    if int(upsample) != upsample or upsample < 0:
        raise ParameterError(f"parameter detector_upsample: {upsample!r} is not an int >= 0")
    found = fn(check_image_u8(image_u8), int(upsample))
    return sorted(found, key=lambda d: -d.score)
