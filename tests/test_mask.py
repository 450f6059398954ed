"""Face polygon, rasterisation in the pixel-centre convention, grow/shrink and feathering."""

from __future__ import annotations

import math

import numpy as np
import pytest

from faceswap_vfx.core.mask import bounding_box, face_polygon, feather, polygon_mask, soft_mask
from faceswap_vfx.core.template import OUTER_INDICES, TEMPLATE_68


def square(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])


def disc(radius: float, size: int = 64) -> np.ndarray:
    """(size, size) float32 disc centred in the image: pixel centres within ``radius``."""
    c = np.arange(size) + 0.5 - size / 2
    return (c[:, None] ** 2 + c[None, :] ** 2 <= radius**2).astype(np.float32)


def radius_of(mask: np.ndarray) -> float:
    return math.sqrt(float(mask.sum()) / math.pi)


def test_polygon_on_pixel_edges_covers_exactly_those_pixels():
    mask = polygon_mask(square(2.0, 3.0, 6.0, 5.0), (8, 10))
    want = np.zeros((8, 10), np.float32)
    want[3:5, 2:6] = 1.0  # x 2..6 -> columns 2..5, y 3..5 -> rows 3, 4
    assert mask.dtype == np.float32
    np.testing.assert_array_equal(mask, want)


@pytest.mark.parametrize("seed", range(4))
def test_raster_matches_scikit_image_on_any_polygon(seed):
    """Random polygons, many self-intersecting, partly off the image: the even-odd rule
    of scikit-image's point-in-polygon test, pixel for pixel (vertices at generic
    positions: a centre exactly on an edge is the one case the two may differ)."""
    from skimage.draw import polygon2mask

    rng = np.random.default_rng(seed)
    for _ in range(40):
        h, w = (int(v) for v in rng.integers(5, 90, 2))
        poly = rng.uniform(-15.0, 100.0, (int(rng.integers(3, 30)), 2))
        want = polygon2mask((h, w), poly[:, ::-1] - 0.5).astype(np.float32)
        np.testing.assert_array_equal(polygon_mask(poly, (h, w)), want)


def test_raster_of_empty_and_degenerate_polygons():
    assert not polygon_mask(square(20.0, 20.0, 30.0, 30.0), (8, 10)).any()  # off the image
    assert not polygon_mask(np.array([[1.0, 2.0], [6.0, 2.0], [3.0, 2.0]]), (8, 10)).any()


def test_pixel_is_inside_when_its_centre_is():
    # centres at 2.5 and 3.5 are inside [1.6, 4.4]; 1.5 and 4.5 are not. Taking pixel
    # centres at integers would select columns 2, 3, 4 instead
    mask = polygon_mask(square(1.6, 1.6, 4.4, 4.4), (7, 7))
    assert np.argwhere(mask).tolist() == [[2, 2], [2, 3], [3, 2], [3, 3]]
    assert polygon_mask(square(2.55, 2.55, 3.45, 3.45), (7, 7)).sum() == 0  # misses centres


@pytest.mark.parametrize("angle", [0.0, 17.0, 45.0])
def test_rasterised_areas_match_analytic_areas(angle):
    a = math.radians(angle)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    shapes = {
        "square": (square(-15.3, -15.3, 15.3, 15.3), 30.6**2, 4 * 30.6),
        "triangle": (np.array([[-20.0, 14.0], [22.0, 12.5], [3.0, -21.0]]), None, None),
    }
    for name, (poly, area, perimeter) in shapes.items():
        x, y = poly.T
        if area is None:  # shoelace and edge lengths
            area = 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))
            perimeter = float(np.sum(np.hypot(*(poly - np.roll(poly, 1, axis=0)).T)))
        placed = poly @ rot.T + (40.17, 39.71)
        got = float(polygon_mask(placed, (80, 80)).sum())
        assert abs(got - area) < 0.25 * perimeter, (name, got, area)


def test_face_polygon_is_the_outer_contour():
    rng = np.random.default_rng(0)
    landmarks = TEMPLATE_68 * 300 + rng.normal(size=(68, 2)) + 400
    poly = face_polygon(landmarks)
    assert poly.shape == (27, 2)
    np.testing.assert_array_equal(poly, landmarks[list(OUTER_INDICES)])
    mask = polygon_mask(face_polygon(TEMPLATE_68 * 200 + 128), (256, 256))
    assert mask[128, 128] == 1.0  # nose inside
    assert mask[10, 128] == 0.0  # above the brows: forehead not in the landmark polygon
    with pytest.raises(ValueError, match=r"\(68, 2\)"):
        face_polygon(landmarks[:17])


@pytest.mark.parametrize("grow", [3.0, 6.5, -4.0, -9.0])
def test_grow_moves_a_disc_edge_by_grow_px(grow):
    base = disc(18.0, 80)
    grown = soft_mask(base, sigma_px=0.0, grow_px=grow)
    # pixel-centre distances put the edge within half a pixel of where it should be
    assert radius_of(grown) - radius_of(base) == pytest.approx(grow, abs=0.5)
    assert np.all(grown >= base) if grow > 0 else np.all(grown <= base)
    assert np.array_equal(soft_mask(base, 0.0, grow_px=1e-3), base)  # tiny: no change


def test_blur_feathers_symmetrically_and_keeps_mass():
    base = disc(14.0, 64)
    soft = soft_mask(base, sigma_px=3.0)
    assert soft.dtype == np.float32 and soft.min() >= 0.0 and soft.max() <= 1.0
    assert float(soft.sum()) == pytest.approx(float(base.sum()), rel=1e-3)
    profile = soft[32, 32:]  # from the centre to the right edge
    assert np.all(np.diff(profile) <= 1e-6)  # falls off monotonically
    assert profile[13] > 0.5 > profile[14]  # half way at the edge (radius 14)
    assert 0.0 < profile[16] < 0.5 and profile[0] == pytest.approx(1.0, abs=1e-3)
    np.testing.assert_array_equal(soft_mask(base, 0.0), base)


def test_soft_mask_edges_and_checks():
    full = np.ones((16, 16), np.float32)
    assert np.all(soft_mask(full, 4.0) == 1.0)  # edges extended, not faded
    assert np.all(soft_mask(full, 0.0, grow_px=-3.0) == 1.0)  # nothing outside to grow
    assert np.all(soft_mask(np.zeros((16, 16)), 2.0, grow_px=5.0) == 0.0)
    with pytest.raises(ValueError, match="sigma"):
        soft_mask(full, -1.0)
    with pytest.raises(ValueError, match=r"\(h, w\)"):
        soft_mask(np.ones((2, 4, 4)), 1.0)
    with pytest.raises(ValueError, match="polygon"):
        polygon_mask(np.zeros((2, 2)), (4, 4))


@pytest.mark.parametrize("sigma", [0.7, 3.0, 9.0])
def test_feather_near_the_mask_equals_the_whole_image_blur(sigma):
    """The feather is computed near the mask only: the same values, bit for bit, as
    blurring the whole image, for masks near and touching the edges; and those of scipy's
    gaussian_filter (truncated at 4 sigma, edges extended)."""
    from scipy import ndimage

    for box in ((40, 50, 70, 90), (0, 5, 20, 30), (100, 110, 128, 160)):
        mask = np.zeros((128, 160), np.float32)
        mask[box[0]:box[2], box[1]:box[3]] = 1.0
        mask[box[0], box[1]] = 0.25
        whole = feather(mask, sigma)
        np.testing.assert_array_equal(soft_mask(mask, sigma), np.clip(whole, 0, 1))
        scipy = ndimage.gaussian_filter(mask, sigma, mode="nearest", truncate=4.0)
        np.testing.assert_array_equal(whole, scipy)


def test_feather_falls_back_to_scipy_without_the_kernel(monkeypatch):
    from scipy import ndimage

    from faceswap_vfx.core import warp_kernel

    mask = np.zeros((40, 50), np.float32)
    mask[10:30, 12:40] = 1.0
    monkeypatch.setattr(warp_kernel, "available", lambda: False)
    np.testing.assert_array_equal(
        feather(mask, 2.5), ndimage.gaussian_filter(mask, 2.5, mode="nearest", truncate=4.0))


def test_feather_names_a_mask_that_is_not_a_plane():
    with pytest.raises(ValueError, match=r"\(h, w\)"):
        feather(np.ones((2, 4, 4), np.float32), 1.0)


def test_bounding_box_holds_every_nonzero_pixel_and_no_more():
    mask = np.zeros((10, 12), np.float32)
    assert bounding_box(mask) is None
    mask[3, 5], mask[7, 2] = 0.25, -1.0
    rows, cols = bounding_box(mask)
    assert (rows, cols) == (slice(3, 8), slice(2, 6))
    assert np.count_nonzero(mask[rows, cols]) == np.count_nonzero(mask)
