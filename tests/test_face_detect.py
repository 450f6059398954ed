"""Detectors, landmarks and the dlib <-> continuous pixel convention."""

from __future__ import annotations

import dlib
import numpy as np
import pytest

from faceswap_vfx.core.template import MIRROR_68
from faceswap_vfx.errors import ParameterError
from faceswap_vfx.face import convert, detect
from faceswap_vfx.face.landmarks import landmarks
from faceswap_vfx.face.stabilise import refine


def test_dlib_conversions_are_explicit():
    rect = dlib.rectangle(10, 20, 49, 79)  # 40 x 60 pixels, inclusive indices
    box = convert.box_from_rect(rect)
    assert box == (10.0, 20.0, 50.0, 80.0)
    assert box[2] - box[0] == rect.width() and box[3] - box[1] == rect.height()
    assert convert.rect_from_box(box) == rect
    assert convert.rect_from_box((10.4, 19.6, 49.6, 80.4)) == rect


def test_hog_finds_the_astronaut(astronaut_u8):
    found = detect.detect(astronaut_u8, "hog", 0)
    assert len(found) == 1
    x0, y0, x1, y1 = found[0].box
    assert 150 < x0 < x1 < 300 and 50 < y0 < y1 < 200 and found[0].score > 0.5
    pts = landmarks(astronaut_u8, found[0].box)
    assert pts.shape == (68, 2) and pts.dtype == np.float64
    assert x0 - 10 < pts[:, 0].mean() < x1 + 10 and y0 < pts[:, 1].mean() < y1 + 10


def test_cnn_detector_finds_the_face(astronaut_u8):
    head = np.ascontiguousarray(astronaut_u8[40:296, 100:356])
    found = detect.detect(head, "cnn", 0)
    assert len(found) == 1
    hog = detect.detect(head, "hog", 0)[0]
    assert convert.box_iou(found[0].box, hog.box) > 0.5


def test_landmark_pixel_centres_are_at_half(astronaut_u8):
    # mirroring maps continuous x to W - x (pixel index i to W - 1 - i). The astronaut is
    # nearly symmetric, so her mirrored landmarks, relabelled, land on her own: a missing
    # +0.5 (or one too many) would put them 1 px off on average.
    w = astronaut_u8.shape[1]
    mirrored = np.ascontiguousarray(astronaut_u8[:, ::-1])

    def find(image):
        return refine(image, landmarks(image, detect.detect(image, "hog", 0)[0].box))

    own, back = find(astronaut_u8), find(mirrored)[MIRROR_68]
    assert abs(np.mean(own[:, 0] + back[:, 0]) - w) < 0.4


def test_detector_registry_dispatches_by_name(astronaut_u8):
    calls = []

    @detect.register_detector("_test_fixed")
    def fixed(image, upsample):
        calls.append((image.shape, upsample))
        return [detect.Detection((1.0, 2.0, 3.0, 4.0), 0.1), detect.Detection((0, 0, 9, 9), 0.9)]

    try:
        found = detect.detect(astronaut_u8, "_test_fixed", 2)
        assert calls == [((512, 512, 3), 2)]
        assert [d.score for d in found] == [0.9, 0.1]  # best first
        with pytest.raises(ValueError, match="twice"):
            detect.register_detector("_test_fixed")(fixed)
    finally:
        del detect.DETECTORS["_test_fixed"]


def test_bad_inputs_are_refused(astronaut_u8):
    with pytest.raises(ParameterError, match="detector"):
        detect.detect(astronaut_u8, "viola-jones")
    with pytest.raises(TypeError, match="uint8"):
        detect.detect(astronaut_u8.astype(np.float32) / 255)
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        detect.detect(astronaut_u8[..., 0])
    with pytest.raises(ValueError, match="box"):
        landmarks(astronaut_u8, (0, 0, np.nan, 10))
