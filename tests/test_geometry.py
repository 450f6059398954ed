"""Similarity fits, crop placement, Nuke conversions and the 68-point template."""

from __future__ import annotations

import math

import numpy as np
import pytest
from skimage.transform import SimilarityTransform

from faceswap_vfx.core import template
from faceswap_vfx.core.geometry import (
    FOREHEAD,
    apply,
    crop_from_plate,
    crop_from_template,
    fit_similarity,
    from_nuke_matrix,
    invert,
    plate_from_crop,
    scale_of,
    to_nuke_matrix,
)
from faceswap_vfx.core.template import TEMPLATE_68


def random_similarity(rng: np.random.Generator, scale_range=(0.2, 5.0)) -> np.ndarray:
    scale = rng.uniform(*scale_range)
    angle = rng.uniform(-math.pi, math.pi)
    c, s = scale * math.cos(angle), scale * math.sin(angle)
    return np.array([[c, -s, rng.uniform(-500, 500)], [s, c, rng.uniform(-500, 500)], [0, 0, 1]])


# --- fit_similarity --------------------------------------------------------------------
def test_fit_recovers_a_known_similarity():
    rng = np.random.default_rng(0)
    for _ in range(20):
        m = random_similarity(rng)
        src = rng.uniform(0, 4000, (int(rng.integers(2, 70)), 2))
        np.testing.assert_allclose(fit_similarity(src, apply(m, src)), m, atol=1e-8)


def test_fit_agrees_with_scikit_image_in_least_squares():
    rng = np.random.default_rng(1)
    src = rng.normal(size=(68, 2)) * 100
    dst = apply(random_similarity(rng), src) + rng.normal(size=(68, 2)) * 3.0
    ref = SimilarityTransform.from_estimate(src, dst)
    np.testing.assert_allclose(fit_similarity(src, dst), ref.params, atol=1e-9)


def test_weights_ignore_an_outlier_and_scale_freely():
    rng = np.random.default_rng(2)
    m = random_similarity(rng)
    src = rng.normal(size=(10, 2)) * 50
    dst = apply(m, src)
    dst[3] += (40.0, -70.0)
    w = np.ones(10)
    w[3] = 0.0
    np.testing.assert_allclose(fit_similarity(src, dst, w), m, atol=1e-8)
    np.testing.assert_allclose(fit_similarity(src, dst, 7.0 * w), m, atol=1e-8)
    assert not np.allclose(fit_similarity(src, dst), m, atol=1e-3)


def test_fit_never_reflects():
    src = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0], [3.0, 1.0]])
    mirrored = src * (-1.0, 1.0)
    m = fit_similarity(src, mirrored)
    assert np.linalg.det(m[:2, :2]) > 0


@pytest.mark.parametrize(
    "src,dst,weights,match",
    [
        (np.zeros((1, 2)), np.zeros((1, 2)), None, "at least 2"),
        (np.ones((5, 2)), np.zeros((5, 2)), None, "degenerate"),
        (np.eye(2), np.full((2, 2), 3.0), None, "degenerate"),
        (np.array([[0.0, np.nan], [1.0, 1.0]]), np.eye(2), None, "non-finite"),
        (np.eye(2), np.array([[0.0, np.inf], [1.0, 1.0]]), None, "non-finite"),
        (np.zeros((4, 3)), np.zeros((4, 3)), None, r"\(N, 2\)"),
        (np.eye(2), np.zeros((3, 2)), None, "2 points"),
        (np.eye(3)[:, :2], np.eye(3)[:, :2], np.array([1.0, 0.0, 0.0]), "at least 2"),
        (np.eye(3)[:, :2], np.eye(3)[:, :2], np.array([1.0, -1.0, 1.0]), "non-negative"),
    ],
)
def test_fit_rejects_bad_input(src, dst, weights, match):
    with pytest.raises(ValueError, match=match):
        fit_similarity(src, dst, weights)


# --- apply, invert, scale_of -----------------------------------------------------------
def test_apply_invert_scale():
    rng = np.random.default_rng(3)
    m = random_similarity(rng)
    pts = rng.normal(size=(9, 2)) * 100
    np.testing.assert_allclose(apply(invert(m), apply(m, pts)), pts, atol=1e-9)
    np.testing.assert_allclose(apply(m, pts), (m @ np.c_[pts, np.ones(9)].T).T[:, :2])
    assert scale_of(m) == pytest.approx(np.hypot(m[0, 0], m[1, 0]))
    assert scale_of(np.diag([2.0, 8.0, 1.0])) == pytest.approx(4.0)
    with pytest.raises(ValueError, match="singular"):
        invert(np.diag([1.0, 0.0, 1.0]))
    with pytest.raises(ValueError, match=r"\(3, 3\)"):
        apply(np.eye(2), pts)


# --- crops -----------------------------------------------------------------------------
def plate_landmarks(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(68, 2) plate landmarks of a template face placed by a random similarity."""
    plate_from_template = random_similarity(rng, (200.0, 900.0))
    return apply(plate_from_template, TEMPLATE_68), plate_from_template


def test_crop_puts_the_template_face_where_the_template_says():
    rng = np.random.default_rng(4)
    landmarks, plate_from_template = plate_landmarks(rng)
    m = crop_from_plate(landmarks, 256, 0.35)
    want = crop_from_template(256, 0.35) @ invert(plate_from_template)
    np.testing.assert_allclose(m, want, atol=1e-9)
    np.testing.assert_allclose(plate_from_crop(landmarks, 256, 0.35) @ m, np.eye(3), atol=1e-9)


@pytest.mark.parametrize("margin", [0.0, 0.2, 0.35, 1.0])
def test_crop_holds_the_face_with_forehead_and_margin(margin):
    size = 512
    m = crop_from_template(size, margin)
    x0, y0, x1, y1 = template.FACE_BOX
    face = apply(m, np.array([[x0, y0 - FOREHEAD], [x1, y1]]))  # top-left, bottom-right
    unit = scale_of(m)  # crop px per face size
    border = np.concatenate((face[0], size - face[1]))
    assert np.all(border >= margin * unit - 1e-9)
    assert border.min() == pytest.approx(margin * unit)  # the tight side
    assert np.allclose(face[0, 0], size - face[1, 0])  # centred left/right
    assert np.allclose(face[0, 1], size - face[1, 1])  # forehead + face centred up/down
    assert scale_of(crop_from_template(size, margin + 0.1)) < unit


def test_crop_rejects_bad_arguments():
    with pytest.raises(ValueError, match="68"):
        crop_from_plate(TEMPLATE_68[:60], 256, 0.3)
    with pytest.raises(ValueError, match="size"):
        crop_from_plate(TEMPLATE_68, 0, 0.3)
    with pytest.raises(ValueError, match="margin"):
        crop_from_plate(TEMPLATE_68, 256, -0.1)


# --- Nuke ------------------------------------------------------------------------------
def test_nuke_flips_y_on_each_side():
    # pixel row 0 of a 4-px-tall image has its centre at y = 0.5 here, 3.5 in Nuke
    move_down = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 10.0], [0.0, 0.0, 1.0]])
    np.testing.assert_allclose(to_nuke_matrix(move_down, 100, 100)[1, 2], -10.0)
    crop = np.eye(3)  # same pixels, a 4-px-tall source into an 8-px-tall output
    nuke = to_nuke_matrix(crop, src_height=4, dst_height=8)
    # array y = 0.5 is Nuke y = 3.5 in the source and 7.5 in the output
    np.testing.assert_allclose(apply(nuke, np.array([[2.0, 3.5]])), [[2.0, 7.5]])


def test_nuke_round_trip_and_points():
    rng = np.random.default_rng(5)
    m = random_similarity(rng)
    src_h, dst_h = 2160, 256
    nuke = to_nuke_matrix(m, src_h, dst_h)
    np.testing.assert_allclose(from_nuke_matrix(nuke, src_h, dst_h), m, atol=1e-9)
    pts = rng.uniform(0, 2000, (6, 2))
    nuke_pts = pts * (1, -1) + (0, src_h)
    want = apply(m, pts) * (1, -1) + (0, dst_h)
    np.testing.assert_allclose(apply(nuke, nuke_pts), want, atol=1e-9)
    assert np.linalg.det(nuke[:2, :2]) == pytest.approx(np.linalg.det(m[:2, :2]))
    with pytest.raises(ValueError, match="height"):
        to_nuke_matrix(m, 0, 256)


# --- template --------------------------------------------------------------------------
def test_template_is_normalised_and_symmetric():
    t = TEMPLATE_68
    assert t.shape == (68, 2) and t.dtype == np.float64
    lo, hi = t.min(axis=0), t.max(axis=0)
    np.testing.assert_allclose((lo + hi) / 2, 0.0, atol=1e-4)
    assert max(hi - lo) == pytest.approx(1.0, abs=1e-4)
    mirrored = t[template.MIRROR_68] * (-1.0, 1.0)
    np.testing.assert_allclose(mirrored, t, atol=1e-4)
    # upright and in iBUG order: brows above eyes above nose tip above mouth above chin
    rows = [
        t[list(g)][:, 1].mean() for g in (template.BROWS, template.EYES, [33], template.MOUTH, [8])
    ]
    assert rows == sorted(rows)
    assert t[36, 0] < t[39, 0] < 0 < t[42, 0] < t[45, 0]  # eye corners left to right


def test_index_groups_partition_the_68_points():
    groups = [template.JAW, template.BROWS, template.NOSE, template.EYES, template.MOUTH]
    assert sorted(i for g in groups for i in g) == list(range(68))
    assert template.OUTER_INDICES == tuple(range(17)) + tuple(range(26, 16, -1))
    assert sorted(template.MIRROR_68[template.MIRROR_68]) == list(range(68))
