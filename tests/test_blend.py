"""Pyramids and the multi-band blend (Algorithm 1) on synthetic HDR images."""

import numpy as np
import pytest
import torch
from scipy import ndimage
from skimage.draw import polygon2mask

from faceswap_vfx.core.blend import blend_levels, multiband_blend
from faceswap_vfx.core.filters import gaussian_blur
from faceswap_vfx.core.pyramid import collapse, gaussian_pyramid, laplacian_pyramid, pyr_up


def hdr(shape, seed=0, scale=8.0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(shape, generator=g, dtype=torch.float64) - 0.25) * scale


@pytest.mark.parametrize("size", [(64, 64), (37, 50), (1, 9), (128, 96)])
def test_laplacian_pyramid_collapses_exactly(size):
    image = hdr((2, 3, *size))
    n = blend_levels(*size)
    pyr = laplacian_pyramid(image, n)
    assert len(pyr) == n and pyr[0].shape == image.shape
    torch.testing.assert_close(collapse(pyr), image, rtol=0, atol=1e-12)


def test_pyramid_sizes_halve_rounding_up():
    sizes = [tuple(p.shape[-2:]) for p in gaussian_pyramid(torch.zeros(1, 1, 37, 50), 5)]
    assert sizes == [(37, 50), (19, 25), (10, 13), (5, 7), (3, 4)]


def test_blend_levels_is_log2_r():
    assert blend_levels(1024, 1024) == 10 and blend_levels(256, 256) == 8
    assert blend_levels(300, 200) == 8


def test_gaussian_blur_keeps_mean_and_matches_scipy():
    image = hdr((1, 1, 40, 40))
    ours = gaussian_blur(image, 2.0)[0, 0].numpy()
    ref = ndimage.gaussian_filter(image[0, 0].numpy(), 2.0, mode="nearest", truncate=3.0)
    np.testing.assert_allclose(ours, ref, atol=1e-3 * np.abs(ref).max())


def test_empty_mask_gives_the_plate_and_full_mask_the_face():
    s, t = hdr((1, 3, 64, 64), 1), hdr((1, 3, 64, 64), 2)
    zero, one = torch.zeros(1, 1, 64, 64, dtype=s.dtype), torch.ones(1, 1, 64, 64, dtype=s.dtype)
    torch.testing.assert_close(multiband_blend(s, t, zero), t, rtol=0, atol=1e-12)
    torch.testing.assert_close(multiband_blend(s, t, one, plate_levels=0), s, rtol=0, atol=1e-12)


def test_coarse_levels_keep_the_plates_light_fine_levels_the_faces_detail():
    yy, xx = torch.meshgrid(torch.arange(128.0), torch.arange(128.0), indexing="ij")
    plate_light = (0.5 + 2.0 * xx / 127.0).expand(1, 3, 128, 128).double()  # a ramp, HDR
    detail = 0.2 * torch.sign(torch.sin(xx * 1.7) * torch.sin(yy * 1.3)).expand(1, 3, 128, 128)
    face = 0.3 + detail.double()  # other light entirely, plus fine detail
    one = torch.ones(1, 1, 128, 128).double()

    def low(x):  # the 2x2 Gaussian residual: light and contrast
        return laplacian_pyramid(x, 7)[-1]

    def fine(x):  # the finest band: detail
        return laplacian_pyramid(x, 7)[0]

    def light_error(x):
        return float((low(x) - low(plate_light)).abs().mean())

    out = multiband_blend(face, plate_light, one, plate_levels=2)
    # the plate's light, up to what the 8x8 band of the face carries
    assert light_error(out) < 0.25 * light_error(face)
    assert light_error(multiband_blend(face, plate_light, one, plate_levels=4)) < \
        0.5 * light_error(out)
    detail_error = (fine(out) - fine(face)).abs().mean() / fine(face).abs().mean()
    assert detail_error < 0.05  # the face's detail
    # and more plate levels move the result further towards the plate
    errs = [float((multiband_blend(face, plate_light, torch.ones(1, 1, 128, 128).double(), k)
                   - plate_light).abs().mean()) for k in (0, 2, 4, 6)]
    assert errs == sorted(errs, reverse=True) and errs[0] > 2 * errs[-1]


def reference_algorithm_1(S, T, L, sigma, K):
    """Algorithm 1 literally: numpy (H, W, C) images, polygon L in full-res pixels."""
    h = S.shape[0]
    n = int(np.log2(h))
    ps = [p[0].permute(1, 2, 0).numpy() for p in laplacian_pyramid(
        torch.from_numpy(S).permute(2, 0, 1)[None], n)]
    pt = [p[0].permute(1, 2, 0).numpy() for p in laplacian_pyramid(
        torch.from_numpy(T).permute(2, 0, 1)[None], n)]
    out = []
    for i in range(1, n + 1):  # 1 = coarsest
        s, t = ps[n - i], pt[n - i]
        size = t.shape[0]
        poly = L * size / h  # the landmarks at this level's scale (pixel corners at 0)
        inside = polygon2mask((size, size), (poly - 0.5)[:, ::-1])
        background = ndimage.gaussian_filter((~inside).astype(np.float64), sigma, mode="nearest",
                                             truncate=3.0)
        face = 1.0 - background
        o = background[..., None] * t
        o = o + face[..., None] * (t if i <= K else s)
        out.append(o)
    pyr = [torch.from_numpy(o).permute(2, 0, 1)[None] for o in reversed(out)]
    return collapse(pyr)[0].permute(1, 2, 0).numpy()


def algorithm_1_case(mask_dtype=np.float64):
    """A 128 px case of :func:`reference_algorithm_1`: source S, target T (128, 128, 3),
    the hard mask of the landmark polygon in ``mask_dtype`` and the reference result."""
    rng = np.random.default_rng(3)
    S = rng.random((128, 128, 3)) * 4
    T = ndimage.gaussian_filter(rng.random((128, 128, 3)), (6, 6, 0)) * 4
    angles = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    L = np.stack([64 + 40 * np.cos(angles), 60 + 48 * np.sin(angles)], 1)
    ref = reference_algorithm_1(S, T, L, sigma=2.0, K=2)
    mask = polygon2mask((128, 128), (L - 0.5)[:, ::-1]).astype(mask_dtype)
    return S, T, mask, ref


def assert_close_to_algorithm_1(ours, S, T, mask, ref):
    """Per-level masks: ours area-averages the full-res polygon, the reference
    re-rasterises it at each level; they agree but for coverage along the edge at coarse
    levels. ours: (128, 128, 3) numpy."""
    diff = np.abs(ours - ref)
    assert diff.mean() < 0.02 * np.abs(S - T).mean()
    inner = ndimage.binary_erosion(mask > 0, iterations=20)
    outer = ~ndimage.binary_dilation(mask > 0, iterations=20)
    assert diff[inner].max() < 0.05 and diff[outer].max() < 0.05


def test_matches_a_literal_algorithm_1():
    S, T, mask, ref = algorithm_1_case()
    ours = multiband_blend(torch.from_numpy(S).permute(2, 0, 1)[None],
                           torch.from_numpy(T).permute(2, 0, 1)[None],
                           torch.from_numpy(mask)[None, None], plate_levels=2,
                           mask_sigma=2.0)[0].permute(1, 2, 0).numpy()
    assert_close_to_algorithm_1(ours, S, T, mask, ref)


def test_device_and_dtype_follow_the_input_and_bad_shapes_are_named():
    s = torch.rand(1, 3, 32, 32, dtype=torch.float32)
    out = multiband_blend(s, s.clone(), torch.ones(1, 1, 32, 32))
    assert out.dtype == torch.float32 and out.device == s.device
    with pytest.raises(ValueError, match="mask must be"):
        multiband_blend(s, s, torch.ones(1, 3, 32, 32))
    with pytest.raises(ValueError, match="differ"):
        multiband_blend(s, torch.rand(1, 3, 16, 16), torch.ones(1, 1, 16, 16))
    assert pyr_up(torch.ones(1, 1, 2, 2), (4, 4)).shape == (1, 1, 4, 4)


def test_plate_highlights_do_not_bloom_over_the_new_face():
    """Speculars (12..300) and a 65504 hot pixel under the face: the blend with them differs
    from the blend without them by under 2 % anywhere but at their own pixels (before: a
    blob of ~200 pixels above 10, 30 000 pixels changed by over 10 %)."""
    from faceswap_vfx.core.composite import blend_under
    from faceswap_vfx.core.mask import soft_mask

    n = 128
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
    clean = np.broadcast_to((0.18 + 0.05 * np.sin(xx / 9.0))[None], (3, n, n)).copy()
    lit = clean.copy()
    for cy, cx, peak in ((50, 45, 40.0), (50, 80, 300.0), (85, 64, 12.0)):
        lit += peak * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * 1.2**2))
    lit[:, 70, 70] = 65504.0
    source = np.broadcast_to((0.12 + 0.04 * np.cos(yy / 7.0))[None], (3, n, n)).copy()
    hard = np.zeros((n, n), np.float32)
    hard[20:108, 20:108] = 1
    alpha = torch.from_numpy(soft_mask(hard, 4.0))[None, None]

    def run(target):
        return blend_under(torch.from_numpy(target)[None], torch.from_numpy(source)[None],
                           alpha, plate_levels=2, mask_sigma=2.0)[0].numpy()

    with_them, without = run(lit), run(clean)
    assert (with_them.max(0) > 10).sum() == 0
    own = lit.max(0) > 1.01 * clean.max(0)
    bloom = (np.abs(with_them - without).max(0) / without.max(0))[~own]
    assert bloom.max() < 0.05, bloom.max()  # ~3 %: the speculars' faint skirts stay in
    outside = alpha[0, 0].numpy() == 0
    np.testing.assert_array_equal(with_them[:, outside], lit[:, outside])  # the plate as it was
