"""warp_affine: pixel-centre convention, exact shifts, round trips within 0.1 px."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from faceswap_vfx.core.filters import gaussian_blur
from faceswap_vfx.core.geometry import apply, invert
from faceswap_vfx.core.warp import antialias_sigma, warp_affine


def similarity(scale: float, degrees: float, tx: float, ty: float) -> np.ndarray:
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    return np.array([[scale * c, -scale * s, tx], [scale * s, scale * c, ty], [0.0, 0.0, 1.0]])


def about(centre_dst: tuple[float, float], m: np.ndarray, centre_src: tuple[float, float]):
    """``m`` followed by the translation putting ``centre_src`` at ``centre_dst``."""
    p = apply(m, np.array([centre_src]))[0]
    m = m.copy()
    m[:2, 2] += np.asarray(centre_dst) - p
    return m


def dots(size: int, centres: np.ndarray, sigma: float) -> np.ndarray:
    """(size, size) float64 sum of Gaussian dots sampled at pixel centres (+0.5)."""
    c = np.arange(size) + 0.5
    x, y = c[None, :, None], c[:, None, None]
    d2 = (x - centres[:, 0]) ** 2 + (y - centres[:, 1]) ** 2
    return np.exp(-d2 / (2.0 * sigma**2)).sum(axis=-1)


def centroids(image: np.ndarray, guesses: np.ndarray, radius: float) -> np.ndarray:
    """Intensity centroids (x, y) in pixel-centre coordinates, in discs around guesses."""
    h, w = image.shape
    y, x = np.mgrid[0:h, 0:w] + 0.5
    out = []
    for gx, gy in guesses:
        win = image * ((x - gx) ** 2 + (y - gy) ** 2 <= radius**2)
        out.append(((win * x).sum() / win.sum(), (win * y).sum() / win.sum()))
    return np.array(out)


def as_tensor(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a))[None, None]


# --- exactness -------------------------------------------------------------------------
@pytest.mark.parametrize("dtype,atol", [(torch.float64, 1e-12), (torch.float32, 1e-5)])
@pytest.mark.parametrize("mode", ["bilinear", "bicubic", "nearest"])
def test_identity_is_identity(dtype, atol, mode):
    image = torch.randn(2, 3, 17, 23, dtype=dtype) * 100.0  # HDR, negative values
    out = warp_affine(image, np.eye(3), (17, 23), mode=mode)
    assert out.dtype == dtype and out.shape == image.shape
    torch.testing.assert_close(out, image, atol=atol * 100.0, rtol=0.0)


@pytest.mark.parametrize("dx,dy", [(3, 0), (0, -2), (5, 4), (-7, 1)])
@pytest.mark.parametrize("mode", ["bilinear", "bicubic", "nearest"])
def test_integer_translation_is_roll(dx, dy, mode):
    image = np.random.default_rng(0).normal(size=(20, 24))
    out = warp_affine(as_tensor(image), similarity(1.0, 0.0, dx, dy), (20, 24), mode=mode)
    rolled = np.roll(image, (dy, dx), axis=(0, 1))
    keep = (slice(max(dy, 0), 20 + min(dy, 0)), slice(max(dx, 0), 24 + min(dx, 0)))
    got = out[0, 0].numpy()
    if mode == "nearest":
        assert np.array_equal(got[keep], rolled[keep])
    else:
        np.testing.assert_allclose(got[keep], rolled[keep], rtol=0, atol=1e-12)
    uncovered = np.ones((20, 24), bool)
    uncovered[keep] = False
    np.testing.assert_allclose(got[uncovered], 0.0, atol=1e-12)  # zeros padding


def test_border_padding_repeats_edges():
    image = torch.arange(12, dtype=torch.float64).reshape(1, 1, 3, 4)
    out = warp_affine(image, similarity(1.0, 0.0, 2, 0), (3, 4), padding="border")
    assert torch.equal(out[0, 0], image[0, 0, :, [0, 0, 0, 1]])


def test_half_pixel_shift_averages_neighbours():
    image = torch.tensor([[[[0.0, 1.0, 5.0, 2.0]]]], dtype=torch.float64)
    out = warp_affine(image, similarity(1.0, 0.0, 0.5, 0.0), (1, 4), padding="border")
    torch.testing.assert_close(out[0, 0, 0, 1:], torch.tensor([0.5, 3.0, 3.5], dtype=torch.float64))


def test_downscale_by_two_is_block_mean_of_pixel_centres():
    # x_dst = x_src / 2: output pixel centre 0.5 reads source point 1.0, between pixels 0, 1
    image = torch.randn(1, 1, 8, 8, dtype=torch.float64)
    out = warp_affine(image, similarity(0.5, 0.0, 0, 0), (4, 4), antialias=False)
    blocks = image.reshape(1, 1, 4, 2, 4, 2).mean(dim=(3, 5))
    torch.testing.assert_close(out, blocks)


@pytest.mark.parametrize("scale", [0.3, 2.5])
def test_point_mapping_matches_bright_pixel(scale):
    image = np.zeros((40, 40))
    image[17, 22] = 1.0  # centre (22.5, 17.5)
    m = about((30.0, 30.0), similarity(scale, 23.0, 0, 0), (20.0, 20.0))
    out = warp_affine(as_tensor(image), m, (60, 60))[0, 0].numpy()
    expected = apply(m, np.array([[22.5, 17.5]]))
    found = centroids(out, expected, radius=60)
    np.testing.assert_allclose(found, expected, atol=0.02)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
def test_linear_ramp_is_reproduced_exactly(mode):
    # the image is its own x and y coordinate: every output pixel must hold the source
    # point it reads, so this checks the geometry with no pattern or measurement error
    y, x = np.mgrid[0:40, 0:40] + 0.5
    ramps = torch.from_numpy(np.stack((x, y)))[None]
    m = about((30.0, 30.0), similarity(1.37, -21.0, 0, 0), (20.3, 19.6))
    out = warp_affine(ramps, m, (60, 60), mode=mode)[0].numpy()
    yo, xo = np.mgrid[0:60, 0:60] + 0.5
    want = apply(invert(m), np.stack((xo.ravel(), yo.ravel()), 1)).T.reshape(2, 60, 60)
    interior = np.all((want > 3.0) & (want < 37.0), axis=0)
    assert interior.sum() > 1000
    np.testing.assert_allclose(out[:, interior], want[:, interior], rtol=0, atol=1e-9)


def test_half_precision_follows_input_dtype():
    image = torch.rand(1, 2, 32, 32)
    m = similarity(0.6, 12.0, 3.3, -1.2)
    out = warp_affine(image.half(), m, (24, 24), mode="bicubic")
    assert out.dtype == torch.float16
    ref = warp_affine(image, m, (24, 24), mode="bicubic")
    torch.testing.assert_close(out.float(), ref, atol=2e-3, rtol=0)


# --- round trips -----------------------------------------------------------------------
ROUND_TRIPS = [  # crop_from_plate: scale, degrees, subpixel translation
    (0.5, 17.0, 0.37, -0.21),
    (1.0, -30.0, 0.5, 0.25),
    (1.7, 8.0, -0.13, 0.41),
    (3.0, -12.0, 0.29, 0.07),
]


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("scale,degrees,tx,ty", ROUND_TRIPS)
def test_round_trip_within_a_tenth_of_a_pixel(scale, degrees, tx, ty, mode):
    plate_size = 96
    sigma = max(2.0, 1.5 / scale)  # dots stay well sampled in the crop
    step = 9.0 * sigma
    grid = np.arange(plate_size / 2 - step, plate_size / 2 + step + 1, step)
    centres = np.stack(np.meshgrid(grid, grid), -1).reshape(-1, 2) + (0.31, -0.17)
    plate = dots(plate_size, centres, sigma)

    crop_size = int(plate_size * scale)
    crop_from_plate = about(
        (crop_size / 2 + tx, crop_size / 2 + ty),
        similarity(scale, degrees, 0, 0),
        (plate_size / 2, plate_size / 2),
    )
    crop = warp_affine(as_tensor(plate), crop_from_plate, (crop_size, crop_size), mode=mode)
    back = warp_affine(crop, invert(crop_from_plate), (plate_size, plate_size), mode=mode)

    # forward: each dot lands where apply() says (a convention error would not cancel here)
    in_crop = apply(crop_from_plate, centres)
    radius_crop = 3.5 * math.hypot(sigma * scale, antialias_sigma(scale) * scale)
    np.testing.assert_allclose(
        centroids(crop[0, 0].numpy(), in_crop, radius_crop), in_crop, atol=0.1
    )
    # and back where it started
    radius = 3.5 * math.hypot(sigma, antialias_sigma(1 / scale))
    found = centroids(back[0, 0].numpy(), centres, radius)
    reference = centroids(plate, centres, radius)
    error = np.hypot(*(found - reference).T)
    assert error.max() < 0.1, error


def test_antialias_removes_aliasing_of_fine_stripes():
    # stripes at 0.4 cycles/px, sampled at 1/4: without a prefilter they alias to a
    # full-contrast 0.4 cycle/px beat; with it they average out to mid-grey
    x = np.arange(256) + 0.5
    plate = np.tile(0.5 + 0.5 * np.cos(2 * np.pi * 0.4 * x), (256, 1))
    m = similarity(0.25, 0.0, 0, 0)
    aliased = warp_affine(as_tensor(plate), m, (64, 64), antialias=False)[0, 0, 8:-8, 8:-8]
    clean = warp_affine(as_tensor(plate), m, (64, 64), antialias=True)[0, 0, 8:-8, 8:-8]
    assert float(aliased.std()) > 0.1
    assert float(clean.std()) < 0.01
    assert abs(float(clean.mean()) - 0.5) < 0.01


@pytest.mark.parametrize("padding", ["zeros", "border"])
def test_antialias_is_blur_then_sample(padding):
    # the prefilter only blurs the window the output reads: same result as blurring all
    image = torch.from_numpy(np.random.default_rng(4).normal(size=(1, 1, 80, 90)))
    m = about((5.0, 12.0), similarity(0.4, 25.0, 0, 0), (30.0, 20.0))  # off the top-left
    blurred = gaussian_blur(image, antialias_sigma(0.4))
    for mode in ("bilinear", "bicubic"):
        out = warp_affine(image, m, (30, 30), mode=mode, padding=padding)
        ref = warp_affine(blurred, m, (30, 30), mode=mode, padding=padding, antialias=False)
        torch.testing.assert_close(out, ref, atol=1e-12, rtol=0)
        assert float(out.abs().sum()) > 1.0


def test_antialias_per_batch_item_and_gradient():
    image = torch.rand(2, 3, 64, 64, dtype=torch.float64, requires_grad=True)
    m = np.stack([similarity(0.5, 10.0, 2, 3), similarity(2.0, 0.0, -40, -40)])
    out = warp_affine(image, torch.from_numpy(m), (32, 32))
    assert out.shape == (2, 3, 32, 32)
    second = warp_affine(image[1:], m[1], (32, 32))  # magnified: no prefilter, batched path
    torch.testing.assert_close(out[1:], second)
    out.sum().backward()
    assert image.grad is not None and torch.all(torch.isfinite(image.grad))


def test_checks_shapes_and_arguments():
    image = torch.zeros(1, 1, 8, 8)
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        warp_affine(torch.zeros(8, 8), np.eye(3), (8, 8))
    with pytest.raises(ValueError, match="floating"):
        warp_affine(torch.zeros(1, 1, 8, 8, dtype=torch.uint8), np.eye(3), (8, 8))
    with pytest.raises(ValueError, match="dst_from_src"):
        warp_affine(image, np.eye(2), (8, 8))
    with pytest.raises(ValueError, match="dst_from_src"):
        warp_affine(torch.zeros(2, 1, 8, 8), np.stack([np.eye(3)] * 3), (8, 8))
    with pytest.raises(ValueError, match="affine"):
        warp_affine(image, np.array([[1, 0, 0], [0, 1, 0], [0.1, 0, 1]]), (8, 8))
    with pytest.raises(ValueError, match="singular"):
        warp_affine(image, np.diag([0.0, 1.0, 1.0]), (8, 8))
    with pytest.raises(ValueError, match="mode"):
        warp_affine(image, np.eye(3), (8, 8), mode="lanczos")
    with pytest.raises(ValueError, match="padding"):
        warp_affine(image, np.eye(3), (8, 8), padding="reflect")
    with pytest.raises(ValueError, match="out_size"):
        warp_affine(image, np.eye(3), (0, 8))
