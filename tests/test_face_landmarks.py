"""Landmarks follow a known similarity motion of the face through a synthetic plate."""

from __future__ import annotations

import numpy as np
import pytest

from faceswap_vfx.core.geometry import apply
from faceswap_vfx.face.find import find_faces
from faceswap_vfx.face.stabilise import refine
from faceswap_vfx.samples.plates import linear_motion, synth_sequence, to_uint8


@pytest.fixture(scope="module")
def reference(astronaut_face):
    """Refined landmarks on the untouched portrait: (68, 2) portrait px."""
    faces = find_faces(to_uint8(astronaut_face), upsample=0)
    assert len(faces) == 1
    return faces[0].landmarks


@pytest.mark.parametrize("scale, angle, centre", [(1.3, 8.0, (201.3, 170.7)),
                                                  (0.9, -6.0, (240.0, 155.2))])
def test_landmarks_follow_known_motion(astronaut_face, reference, scale, angle, centre):
    motion = linear_motion(astronaut_face.shape[:2], centre, scale, angle_deg=angle)
    frames, truth = synth_sequence(astronaut_face, 1, (340, 420), motion)
    faces = find_faces(to_uint8(frames[0]), upsample=0, refine_jitter=None)
    assert len(faces) == 1
    expected = apply(truth[0], reference)
    raw = np.linalg.norm(faces[0].landmarks - expected, axis=1)
    refined = np.linalg.norm(refine(to_uint8(frames[0]), faces[0].landmarks) - expected, axis=1)
    assert raw.mean() < 2.0 * scale
    assert refined.mean() < 0.6 * scale and refined.max() < 2.0 * scale


def test_canonical_box_matches_the_detector(astronaut_u8):
    # refinement places dlib's box where its HOG detector would put it around the template;
    # a changed template or box convention would show here first
    from faceswap_vfx.core.geometry import fit_similarity
    from faceswap_vfx.core.template import TEMPLATE_68
    from faceswap_vfx.face.detect import detect
    from faceswap_vfx.face.landmarks import landmarks
    from faceswap_vfx.face.stabilise import BOX_IN_TEMPLATE

    for image in (astronaut_u8, np.ascontiguousarray(astronaut_u8[:, ::-1])):
        box = detect(image, "hog", 0)[0].box
        template_from_plate = fit_similarity(landmarks(image, box), TEMPLATE_68)
        x0, y0, x1, y1 = apply(template_from_plate, np.array([box[:2], box[2:]])).ravel()
        bx0, by0, bx1, by1 = BOX_IN_TEMPLATE
        assert abs((x0 + x1) / 2 - (bx0 + bx1) / 2) < 0.08
        assert abs((y0 + y1) / 2 - (by0 + by1) / 2) < 0.08
        assert abs((x1 - x0) / (bx1 - bx0) - 1) < 0.25  # HOG box sizes vary by ~10 %
