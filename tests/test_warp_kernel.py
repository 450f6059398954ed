"""The compiled Keys warp (core/_warp_kernel.c) against the torch path it replaces."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from faceswap_vfx.core import filters, warp, warp_kernel
from faceswap_vfx.core.warp import antialias_sigma, warp_affine

pytestmark = pytest.mark.skipif(not warp_kernel.available(),
                                reason="the compiled warp was not built (no C compiler)")


def torch_path(image, dst_from_src, out_size, **kw):
    """warp_affine with the kernel turned off, as a build without it runs."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FACESWAP_VFX_WARP", "torch")
        assert not warp_kernel.supports(image)
        return warp_affine(image, dst_from_src, out_size, **kw)


def similarity(scale, angle, tx, ty):
    c, s = scale * np.cos(angle), scale * np.sin(angle)
    return np.array([[c, -s, tx], [s, c, ty], [0.0, 0.0, 1.0]])


@pytest.mark.parametrize("padding", ["zeros", "border"])
@pytest.mark.parametrize("channels", [1, 3, 5])
def test_kernel_equals_the_torch_path(padding, channels):
    rng = np.random.default_rng(channels)
    image = torch.from_numpy(rng.normal(0.5, 2.0, (2, channels, 37, 52)).astype(np.float32))
    for scale, angle in ((3.3, 0.3), (1.0, 0.0), (0.45, -1.1), (1.7, 2.5)):
        m = similarity(scale, angle, 0.0, 0.0)  # the source's centre near the output's
        m[:2, 2] = np.array([41.5, 30.5]) - m[:2, :2] @ [26.0, 18.5] + rng.uniform(-9, 9, 2)
        got = warp_affine(image, m, (61, 83), mode="bicubic", padding=padding)
        want = torch_path(image, m, (61, 83), mode="bicubic", padding=padding)
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5 * 8.0)
        assert got.abs().sum() > 0


def test_strided_views_and_channels_last_are_read_in_place():
    rng = np.random.default_rng(1)
    plate = rng.random((90, 120, 4)).astype(np.float32)  # (H, W, C) numpy, as the render's
    view = torch.from_numpy(plate[10:70, 20:100, :3]).permute(2, 0, 1)[None]
    m = similarity(2.2, 0.4, 5.0, -3.0)
    got = warp_affine(view, m, (100, 110), mode="bicubic")
    torch.testing.assert_close(got, torch_path(view.contiguous(), m, (100, 110), mode="bicubic"),
                               rtol=1e-5, atol=1e-5)


def test_linear_ramp_is_reproduced_and_far_points_read_the_padding():
    x = torch.arange(40, dtype=torch.float32).repeat(1, 1, 30, 1) + 0.5  # value = x centre
    m = similarity(2.5, 0.0, 0.0, 0.0)
    out = warp_affine(x, m, (75, 100), mode="bicubic", padding="border")
    centres = (torch.arange(100, dtype=torch.float32) + 0.5) / 2.5
    inner = slice(10, 85)  # away from the replicated edges
    torch.testing.assert_close(out[0, 0, 40, inner], centres[inner], rtol=0, atol=2e-4)
    far = warp_affine(x, similarity(1.0, 0.0, 1e9, -1e9), (4, 4), mode="bicubic")
    assert torch.equal(far, torch.zeros_like(far))
    edge = warp_affine(x, similarity(1.0, 0.0, -1e9, 0.0), (4, 4), mode="bicubic",
                       padding="border")  # far right of the source: its last column
    torch.testing.assert_close(edge, torch.full_like(edge, 39.5))


def test_nan_spreads_as_in_the_torch_path_and_gradients_keep_torch():
    image = torch.ones(1, 1, 16, 16)
    image[0, 0, 8, 8] = float("nan")
    m = similarity(1.5, 0.2, 1.0, 2.0)
    got = warp_affine(image, m, (24, 24), mode="bicubic")
    want = torch_path(image, m, (24, 24), mode="bicubic")
    assert torch.equal(got.isnan(), want.isnan())
    wants_grad = torch.rand(1, 3, 8, 8, requires_grad=True)
    assert not warp_kernel.supports(wants_grad)
    warp_affine(wants_grad, m, (12, 12), mode="bicubic").sum().backward()
    assert wants_grad.grad is not None and wants_grad.grad.abs().sum() > 0


def test_threads_split_rows_without_seams():
    rng = np.random.default_rng(3)
    image = torch.from_numpy(rng.random((1, 3, 64, 64)).astype(np.float32))
    m = similarity(3.1, 0.7, 30.0, -20.0)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = warp_affine(image, m, (200, 190), mode="bicubic")
        torch.set_num_threads(2)
        two = warp_affine(image, m, (200, 190), mode="bicubic")
    finally:
        torch.set_num_threads(before)
    assert torch.equal(one, two)


def test_module_dispatches_through_the_kernel(monkeypatch):
    calls = []
    real = warp_kernel.warp_keys
    monkeypatch.setattr(warp_kernel, "warp_keys", lambda *a: calls.append(1) or real(*a))
    warp.warp_affine(torch.rand(1, 3, 8, 8), similarity(2.0, 0.1, 0, 0), (16, 16), mode="bicubic")
    warp.warp_affine(torch.rand(1, 3, 8, 8, dtype=torch.float64), similarity(2.0, 0.1, 0, 0),
                     (16, 16), mode="bicubic")
    assert calls == [1]  # float32 through the kernel; float64 keeps the torch path


def channels_last(image: torch.Tensor) -> torch.Tensor:
    """``image``'s values as a (B, C, H, W) view of (B, H, W, C) memory, as the render's."""
    return image.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)


def layouts(image: torch.Tensor) -> dict[str, torch.Tensor]:
    """The same values in the memory layouts the kernel reads in place."""
    b, c, h, w = image.shape
    wide = torch.full((b, c + 2, 2 * h + 3, w + 5), float("nan"))
    wide[:, 1:c + 1, 3::2, 2:w + 2] = image  # channel, row and column strides, an offset
    return {"contiguous": image, "channels-last": channels_last(image),
            "strided view": wide[:, 1:c + 1, 3::2, 2:w + 2]}


# --- the antialias prefilter: the compiled blur ------------------------------------------
@pytest.mark.parametrize("channels", [1, 3, 4, 5])
@pytest.mark.parametrize("size", [(1, 1), (1, 7), (6, 1), (3, 4), (37, 52), (70, 9)])
def test_blur_equals_the_torch_blur(size, channels):
    """warp_kernel.gaussian_blur against filters.gaussian_blur: sizes below the radius
    (every tap a replicated edge), B > 1, channel counts around the 4-float groups."""
    rng = np.random.default_rng(size[0] * 100 + size[1] + channels)
    image = torch.from_numpy(rng.normal(0.5, 2.0, (2, channels, *size)).astype(np.float32))
    for sigma in (0.3, 1.0, antialias_sigma(256 / 944), 4.2):
        want = filters.gaussian_blur(image, sigma)
        for name, view in layouts(image).items():
            got = warp_kernel.gaussian_blur(view, sigma)
            assert got.is_contiguous() and got.shape == image.shape, name
            torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5 * 8.0, msg=name)


@pytest.mark.parametrize("padding", ["zeros", "border"])
@pytest.mark.parametrize("size", [(1, 1), (2, 9), (5, 3), (40, 33)])
def test_packed_grid_is_the_padded_blur(size, padding):
    """The grid fsv_warp_keys reads, blurred as it is packed: filters.gaussian_blur padded
    by 4 pixels as the torch path pads (zeros or edge pixels), channels in the first lanes
    and zeros in the rest; sigma 0: the image itself, bit for bit."""
    rng = np.random.default_rng(size[0] + size[1])
    image = torch.from_numpy(rng.normal(0.5, 2.0, (1, 3, *size)).astype(np.float32))
    mode = "constant" if padding == "zeros" else "replicate"
    for sigma in (0.0, 0.8, 2.5):
        blurred = filters.gaussian_blur(image, sigma)
        want = F.pad(blurred, (4,) * 4, mode=mode)[0].permute(1, 2, 0)
        for name, view in layouts(image).items():
            grid = warp_kernel._packed(view[0], warp_kernel._taps(sigma), padding)
            assert grid.shape == (size[0] + 8, size[1] + 8, 4)
            assert torch.equal(grid[..., 3], torch.zeros_like(grid[..., 3])), name
            if sigma == 0:
                assert torch.equal(grid[..., :3], want), name
            torch.testing.assert_close(grid[..., :3], want, rtol=1e-5, atol=1e-5 * 8.0,
                                       msg=name)


def test_blur_has_the_torch_taps_and_radius():
    """An impulse comes back as the outer product of gaussian_kernel1d's taps: radius
    ceil(3 sigma), nothing beyond it; in the grid and in the planes."""
    for sigma in (0.4, 1.7746, 3.0):
        radius = math.ceil(3.0 * sigma)
        taps = filters.gaussian_kernel1d(sigma, torch.float32, torch.device("cpu"))
        assert len(taps) == 2 * radius + 1
        image = torch.zeros(1, 1, 31, 31)
        image[0, 0, 15, 15] = 1.0
        want = torch.zeros(31, 31)
        want[15 - radius:16 + radius, 15 - radius:16 + radius] = taps[:, None] * taps
        grid = warp_kernel._packed(image[0], warp_kernel._taps(sigma), "zeros")
        torch.testing.assert_close(grid[4:-4, 4:-4, 0], want, rtol=1e-6, atol=1e-9)
        torch.testing.assert_close(warp_kernel.gaussian_blur(image, sigma)[0, 0], want,
                                   rtol=1e-6, atol=1e-9)
        assert torch.count_nonzero(grid[..., 0]) == (2 * radius + 1) ** 2


@pytest.mark.parametrize("padding", ["zeros", "border"])
@pytest.mark.parametrize("channels", [1, 3, 5])
def test_antialiased_warp_equals_the_torch_path(padding, channels):
    """Minifying warps (blur fused into the kernel's packing) against the torch path
    (filters.gaussian_blur, then the torch Keys gathers), channels-last and strided input,
    B > 1 with one item not minified."""
    rng = np.random.default_rng(channels + 10)
    image = torch.from_numpy(rng.normal(0.5, 2.0, (2, channels, 90, 117)).astype(np.float32))
    for scale, angle in ((0.28, 0.1), (0.45, -1.1), (0.12, 2.5), (0.9, 0.4)):
        m = np.stack([similarity(scale, angle, 0.0, 0.0), similarity(1.3, 0.2, 0.0, 0.0)])
        m[:, :2, 2] = np.array([20.0, 15.0]) - m[:, :2, :2] @ [58.0, 45.0]
        m[0, :2, 2] += rng.uniform(-6, 6, 2)
        want = torch_path(image, m, (31, 41), mode="bicubic", padding=padding)
        for name, view in layouts(image).items():
            got = warp_affine(view, m, (31, 41), mode="bicubic", padding=padding)
            torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5 * 8.0, msg=name)
        unblurred = warp_affine(image, m, (31, 41), mode="bicubic", padding=padding,
                                antialias=False)
        assert (unblurred[0] - want[0]).abs().max() > 1e-3  # the blur is not skipped


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
def test_the_render_crop_equals_the_torch_path(mode):
    """The render's crop: a ~944 px window of a channels-last plate to 256 px, border
    padding (scale ~0.27, sigma ~1.8), through the compiled blur either way."""
    rng = np.random.default_rng(5)
    plate = rng.random((980, 1000, 3)).astype(np.float32) * 4.0 - 1.0  # (H, W, C), HDR
    image = torch.from_numpy(plate).permute(2, 0, 1)[None]
    s = 256 / 944
    m = similarity(s, 0.12, 0.0, 0.0)
    m[:2, 2] = np.array([128.0, 128.0]) - m[:2, :2] @ [500.0, 490.0]
    got = warp_affine(image, m, (256, 256), mode=mode, padding="border")
    want = torch_path(image, m, (256, 256), mode=mode, padding="border")
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5 * 4.0)


@pytest.mark.parametrize("padding", ["zeros", "border"])
def test_blur_spreads_nan_and_inf_as_the_torch_path(padding):
    """NaN, +Inf and -Inf spread through the blur and the warp as in the torch path: Inf
    where only one sign is within reach, NaN where both are or a NaN is."""
    image = torch.from_numpy(np.random.default_rng(6).random((1, 3, 60, 64)).astype(np.float32))
    image[0, 0, 10, 12] = float("nan")
    image[0, 1, 30, 30] = float("inf")
    image[0, 1, 33, 33] = float("-inf")  # within one radius of the +Inf: NaN between
    image[0, 2, 50, 2] = float("inf")  # at the edge: replicated into the border padding
    m = similarity(0.4, 0.3, 0.0, 0.0)
    m[:2, 2] = np.array([12.0, 12.0]) - m[:2, :2] @ [32.0, 30.0]
    want = torch_path(image, m, (26, 26), mode="bicubic", padding=padding)
    assert want.isnan().any() and want.isinf().any()
    blurred = filters.gaussian_blur(image, 1.5)
    assert blurred.isnan().any() and blurred.isposinf().any() and blurred.isneginf().any()
    for name, view in layouts(image).items():
        got = warp_affine(view, m, (26, 26), mode="bicubic", padding=padding)
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5, equal_nan=True, msg=name)
        torch.testing.assert_close(warp_kernel.gaussian_blur(view, 1.5), blurred, rtol=1e-5,
                                   atol=1e-5, equal_nan=True, msg=name)


def test_row_bands_give_the_same_bits(monkeypatch):
    """Rows split into bands (each its own ring of source rows, starting mid-image or in
    the padding), in any order: the same bits as one pass."""
    rng = np.random.default_rng(8)
    image = channels_last(torch.from_numpy(rng.random((2, 5, 50, 43)).astype(np.float32)))
    m = similarity(0.3, 0.5, 0.0, 0.0)
    m[:2, 2] = np.array([7.0, 7.0]) - m[:2, :2] @ [21.0, 25.0]
    grid_one = warp_kernel._packed(image[0, :3], warp_kernel._taps(2.1), "border")
    blur_one = warp_kernel.gaussian_blur(image, 2.1)
    warp_one = warp_affine(image, m, (14, 15), mode="bicubic", padding="border")

    def bands(h, rows):
        for r0 in reversed(range(0, h, 3)):
            rows(r0, min(r0 + 3, h))

    monkeypatch.setattr(warp_kernel, "_split_rows", bands)
    assert torch.equal(warp_kernel._packed(image[0, :3], warp_kernel._taps(2.1), "border"),
                       grid_one)
    assert torch.equal(warp_kernel.gaussian_blur(image, 2.1), blur_one)
    assert torch.equal(warp_affine(image, m, (14, 15), mode="bicubic", padding="border"),
                       warp_one)


def test_antialiased_warps_dispatch_and_fall_back(monkeypatch):
    """float32 CPU: the bicubic warp blurs in the kernel and bilinear uses the compiled
    blur, neither the torch blur; without the library both keep the torch path."""
    calls = []
    real_keys, real_blur = warp_kernel.warp_keys, warp_kernel.gaussian_blur
    monkeypatch.setattr(warp_kernel, "warp_keys",
                        lambda *a: calls.append(("keys", a[4:])) or real_keys(*a))
    monkeypatch.setattr(warp_kernel, "gaussian_blur",
                        lambda *a: calls.append(("blur",)) or real_blur(*a))
    monkeypatch.setattr(warp, "gaussian_blur", lambda *a: calls.append(("torch",)) or
                        filters.gaussian_blur(*a))
    image = torch.rand(1, 3, 64, 64)
    m = similarity(0.25, 0.1, 0, 0)
    want = {mode: torch_path(image, m, (16, 16), mode=mode) for mode in ("bicubic", "bilinear")}
    calls.clear()
    for mode in ("bicubic", "bilinear"):
        got = warp_affine(image, m, (16, 16), mode=mode)
        torch.testing.assert_close(got, want[mode], rtol=1e-5, atol=1e-5)
    assert calls == [("keys", (antialias_sigma(0.25),)), ("blur",)]
    calls.clear()
    monkeypatch.setattr(warp_kernel, "_library", lambda: None)  # a build without the kernel
    assert not warp_kernel.available() and not warp_kernel.supports(image)
    for mode in ("bicubic", "bilinear"):
        assert torch.equal(warp_affine(image, m, (16, 16), mode=mode), want[mode])
    assert calls == [("torch",), ("torch",)]


@pytest.mark.parametrize("scale", [3.5, 1.0, 0.4])
def test_cover_from_the_matrix_equals_warping_ones(scale):
    """Coverage computed from the matrix against the warp of an image of ones (bilinear,
    zeros outside, thresholded at 0.999): equal but where the warped value is within
    float32 rounding of the threshold."""
    from faceswap_vfx.core.composite import warp_face

    rng = np.random.default_rng(int(scale * 10))
    for _ in range(4):
        m = similarity(scale, rng.uniform(-0.6, 0.6), 0.0, 0.0)
        m[:2, 2] = np.array([70.0, 60.0]) - m[:2, :2] @ [20.0, 20.0] + rng.uniform(-15, 15, 2)
        generated = torch.rand(1, 3, 40, 40)
        _, got = warp_face(generated, m, (120, 140))
        ones = torch_path(torch.ones(1, 1, 40, 40), m, (120, 140))
        want = (ones > 0.999).float()
        differ = got != want
        assert 0 < want.mean() < 1  # the crop's edge runs through the output
        assert torch.all((ones[differ] - 0.999).abs() < 1e-5), int(differ.sum())
        assert got.dtype == torch.float32 and got.shape == (1, 1, 120, 140)


def _warp_in_child(queue):
    image = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    out = warp_affine(image, similarity(3.0, 0.2, 1.0, 2.0), (96, 96), mode="bicubic")
    queue.put(out.sum().item())


def test_a_forked_child_warps_with_threads_of_its_own():
    """The row threads made in the parent do not exist in a forked child (a DataLoader
    worker): the child must start its own, not wait for the parent's forever."""
    import multiprocessing

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        image = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
        want = warp_affine(image, similarity(3.0, 0.2, 1.0, 2.0), (96, 96), mode="bicubic")
        context = multiprocessing.get_context("fork")
        queue = context.Queue()
        child = context.Process(target=_warp_in_child, args=(queue,))
        child.start()
        child.join(timeout=60)
        alive = child.is_alive()
        if alive:
            child.kill()
        assert not alive, "the child hung on the parent's thread pool"
        assert child.exitcode == 0
        assert queue.get(timeout=5) == pytest.approx(want.sum().item(), rel=1e-6)
    finally:
        torch.set_num_threads(before)


# --- the row spans: coverage and the zero-padded Keys warp skip what they can -------------
def random_dst_from_src(rng, src_size, out_size):
    """An affine dst_from_src: scale 0.2-5 per axis, any rotation, reflections, shears, the
    source's centre anywhere within about one output size of the output's (the source
    partly or fully outside the output, or the output within the source)."""
    c, s = np.cos(rng.uniform(-np.pi, np.pi)), np.sin(rng.uniform(-np.pi, np.pi))
    a = np.array([[c, -s], [s, c]]) @ np.diag(rng.uniform(0.2, 5.0, 2) * rng.choice([-1, 1], 2))
    if rng.random() < 0.5:
        a = a @ np.array([[1.0, rng.uniform(-1, 1)], [0.0, 1.0]])  # shear
    m = np.eye(3)
    m[:2, :2] = a
    centre = np.array(out_size[::-1]) * rng.uniform(-0.5, 1.5, 2)
    m[:2, 2] = centre - a @ (np.array(src_size[::-1]) / 2.0)
    return m


def exact_src_from_dst(rng):
    """src_from_dst with dyadic entries: the source coordinates land exactly on the span
    bounds (-1, 0, size - 1, size, -2, size + 1) and on zero steps (m[0] or m[3] 0, -0)."""
    m = np.eye(3)
    m[:2, :2] = rng.choice([-2.0, -1.0, -0.5, -0.25, -0.0, 0.0, 0.25, 0.5, 1.0, 2.0], (2, 2))
    m[:2, 2] = rng.integers(-24, 24, 2) / 4.0
    return m


def edge_src_from_dst(rng, src_size):
    """An axis-aligned minification whose first or last in-support pixel along a row lies
    just outside the source's edge (u = -0.0004 or width - 1 + 0.0004; the pixel before it
    beyond -1 or width): covered (weight 0.9996), the one pixel between 0 and 1 cover."""
    height, width = src_size
    step = rng.uniform(1.2, 5.0, 2)  # source pixels per output pixel
    delta = rng.uniform(1e-5, 9e-4)
    m = np.eye(3)
    m[0, 0], m[1, 1] = step * rng.choice([-1, 1], 2)
    j0, i0 = rng.integers(0, 6, 2)  # the pixel put at the edge, the row put inside
    u = -delta if rng.random() < 0.5 else width - 1 + delta
    m[0, 2] = u + 0.5 - m[0, 0] * (j0 + 0.5)
    m[1, 2] = rng.uniform(0, height - 1) + 0.5 - m[1, 1] * (i0 + 0.5)
    return m


def source_coords(src_from_dst, out_size):
    """(u, v), each (h, w): the pixel-index coordinates the kernels compute for each output
    pixel, in their arithmetic (float64, row part first, no fused multiply-adds)."""
    m = src_from_dst
    xj = np.arange(out_size[1], dtype=np.float64)[None] + 0.5
    yi = np.arange(out_size[0], dtype=np.float64)[:, None] + 0.5
    return (m[0, 0] * xj + (m[0, 1] * yi + m[0, 2] - 0.5),
            m[1, 0] * xj + (m[1, 1] * yi + m[1, 2] - 0.5))


def cover_reference(src_from_dst, src_size, out_size):
    """fsv_warp_cover's per-pixel predicate in numpy: the product of the bilinear taps'
    in-image weights along u and v above 0.999."""
    u, v = source_coords(src_from_dst, out_size)

    def inside(c, size):
        f = np.floor(c)
        t = c - f
        return (np.where((f >= 0) & (f < size), 1.0 - t, 0.0)
                + np.where((f + 1 >= 0) & (f + 1 < size), t, 0.0))

    return (inside(u, src_size[1]) * inside(v, src_size[0]) > 0.999).astype(np.float32)


def test_cover_spans_equal_the_per_pixel_predicate():
    """fsv_warp_cover fills each row's covered span without evaluating it: the same 0/1 as
    the predicate evaluated everywhere, bit for bit, for any matrix (tiny sources, exact
    hits on the bounds, edges one pixel wide, rows entirely in or out)."""
    rng = np.random.default_rng(11)
    sizes = [(1, 1), (1, 2), (2, 1), (2, 3), (3, 5), (3, 1), (7, 11), (40, 40)]
    partial = 0
    for trial in range(1500):
        src_size = sizes[trial % len(sizes)]
        out_size = tuple(int(n) for n in rng.integers(1, 70, 2))
        kind = trial % 3
        if kind == 0:
            m = np.linalg.inv(random_dst_from_src(rng, src_size, out_size))
        elif kind == 1:
            m = exact_src_from_dst(rng)
        else:
            m = edge_src_from_dst(rng, src_size)
        got = warp_kernel.cover(m, src_size, out_size)[0, 0].numpy()
        want = cover_reference(m, src_size, out_size)
        assert np.array_equal(got, want), (trial, src_size, out_size, m.tolist())
        partial += 0 < want.mean() < 1
    assert partial > 600  # most outputs cross the source's edge


def test_zero_padded_keys_skips_exactly_the_pixels_reading_only_padding():
    """With zero padding the Keys kernel evaluates, per row, only the pixels whose taps
    reach the image (-2 <= u < width + 1 and -2 <= v < height + 1) and writes +0 around
    them: those are +0 bit for bit, and the pixels at the span's ends (taps touching one
    image column or row) equal the torch path's, which is not 0 there. Exact hits on the
    bounds with Inf on the image's edges: a tap of weight 0 on an Inf still makes NaN."""
    rng = np.random.default_rng(12)
    ends = []
    for trial in range(160):
        src_size = tuple(int(n) for n in rng.integers(1, 24, 2))
        out_size = tuple(int(n) for n in rng.integers(1, 60, 2))
        image = torch.from_numpy(rng.uniform(1.0, 2.0, (1, 3, *src_size)).astype(np.float32))
        if trial % 4 == 3:
            m = exact_src_from_dst(rng)
            image[..., [0, -1], :] = image[..., :, [0, -1]] = float("inf")
        else:
            m = np.linalg.inv(random_dst_from_src(rng, src_size, out_size))
        got = warp_kernel.warp_keys(image, m[None], out_size, "zeros")
        x, y = warp._source_points(m[None], out_size, image)
        want = warp._sample(image, x, y, "bicubic", "zeros")
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5 * 8.0, equal_nan=True)
        u, v = source_coords(m, out_size)
        reach = (u >= -2) & (u < src_size[1] + 1) & (v >= -2) & (v < src_size[0] + 1)
        skipped = got[0][:, torch.from_numpy(~reach)]
        assert torch.equal(skipped.view(torch.int32), torch.zeros_like(skipped, dtype=torch.int32))
        rows = np.flatnonzero(reach.any(axis=1))
        first = reach[rows].argmax(axis=1)
        last = out_size[1] - 1 - reach[rows, ::-1].argmax(axis=1)
        i, j = torch.from_numpy(np.concatenate([rows, rows])), torch.from_numpy(
            np.concatenate([first, last]))
        torch.testing.assert_close(got[0, :, i, j], want[0, :, i, j], rtol=1e-5, atol=1e-6,
                                   equal_nan=True)
        ends.append(want[0, 0, i, j].abs().numpy())
    ends = np.concatenate(ends)
    assert len(ends) > 1000 and np.mean(~(ends <= 1e-3)) > 0.8  # a skipped end would show


# --- the AVX path: two output pixels per 256-bit vector, the same bits as the baseline ----
needs_avx = pytest.mark.skipif(warp_kernel.instruction_set() != "avx",
                               reason="this CPU (or build) has no AVX path")


QNAN_BITS = 0x7FC00000  # the one NaN the Keys kernel writes (torch's float("nan"))


def assert_same_bits(got: torch.Tensor, want: torch.Tensor, msg=None) -> None:
    """Bit for bit: the sign of zero, and every NaN the kernel's one quiet NaN (which NaN an
    operation passes on where two meet follows the compiler's operand order, different in
    the two paths: the kernel writes one NaN for all)."""
    assert torch.equal(got.view(torch.int32), want.view(torch.int32)), msg
    assert torch.all(want[want.isnan()].view(torch.int32) == QNAN_BITS), msg


def far_src_from_dst(rng, src_size):
    """Coordinates far out: beyond the source (border padding reads its edge), around and
    past +-4e15 along one axis, the other within the source (between 2^51 and 2^52 the
    coordinates are multiples of 0.5: beyond 4e15 the kernels' floor keeps them, fraction
    0), or a row crossing that bound, or non-finite (NaN and Inf entries: rows evaluated
    pixel by pixel)."""
    m = np.eye(3)
    kind = rng.integers(5)
    if kind == 0:
        m[:2, 2] = rng.choice([-1, 1], 2) * rng.uniform(1e3, 1e9, 2)
    elif kind == 1:
        far = rng.integers(2)
        m[:2, :2] = rng.uniform(-0.7, 0.7, (2, 2))
        m[far, 2] = rng.choice([-1, 1]) * rng.uniform(3.9e15, 4.6e15)
        m[1 - far, :2] = rng.uniform(-0.05, 0.05, 2)
        m[1 - far, 2] = rng.uniform(0, src_size[::-1][1 - far])  # row 0: u, 0 .. W
    elif kind == 2:
        m[:2, :2] = rng.choice([-1, 1], (2, 2)) * 2e14
        m[:2, 2] = rng.uniform(-3e15, 3e15, 2)
    else:
        m[:2] = rng.normal(0, 3, (2, 3))
        m[rng.integers(2), rng.integers(3)] = rng.choice([np.nan, np.inf, -np.inf, 1e308])
    return m


def special_values(rng, image: torch.Tensor) -> torch.Tensor:
    """``image`` with NaN, +-Inf, -0 and huge values at random pixels (some on the edges)."""
    flat = image.view(-1)
    count = max(1, flat.numel() // 50)
    where = torch.from_numpy(rng.integers(0, flat.numel(), count))
    flat[where] = torch.from_numpy(rng.choice(
        np.array([np.nan, np.inf, -np.inf, -0.0, 3e38, -1e-40], np.float32), count))
    return image


@needs_avx
def test_avx_path_gives_the_baseline_bits():
    """warp_keys with isa="avx" against isa="baseline", bit for bit: random matrices of
    every kind (magnifying, minifying, sheared, reflected, dyadic, far, huge, NaN and Inf),
    zero and border padding, B = 1..3, C = 1..5, sources from 1 x 1, outputs from 1 x 1
    to several 64-pixel chunks (odd widths, a pixel left alone), NaN, Inf and -0 pixels,
    with and without the blur. The default picks AVX here."""
    rng = np.random.default_rng(21)
    widths = [1, 2, 3, 4, 5, 7, 63, 64, 65, 66, 127, 129, 150]
    evaluated = 0
    for trial in range(240):
        b, c = int(rng.integers(1, 4)), int(rng.integers(1, 6))
        src_size = tuple(int(n) for n in rng.integers(1, 30, 2))
        out_size = (int(rng.integers(1, 40)), int(widths[trial % len(widths)]))
        image = torch.from_numpy(rng.normal(0.5, 2.0, (b, c, *src_size)).astype(np.float32))
        if trial % 3 == 0:
            image = special_values(rng, image)
        kind = trial % 4
        ms = []
        for _ in range(b):
            if kind == 0:
                ms.append(np.linalg.inv(random_dst_from_src(rng, src_size, out_size)))
            elif kind == 1:
                ms.append(exact_src_from_dst(rng))
            elif kind == 2:
                ms.append(far_src_from_dst(rng, src_size))
            else:  # the render's magnification, the source within the output
                m = similarity(rng.uniform(2.0, 5.0), rng.uniform(-np.pi, np.pi), 0.0, 0.0)
                m[:2, 2] = np.array(out_size[::-1]) / 2 - m[:2, :2] @ (np.array(src_size[::-1]) / 2)
                ms.append(np.linalg.inv(m))
        m = np.stack(ms)
        padding = ("zeros", "border")[trial % 2]
        sigma = 1.3 if trial % 7 == 0 else 0.0
        want = warp_kernel.warp_keys(image, m, out_size, padding, sigma, isa="baseline")
        got = warp_kernel.warp_keys(image, m, out_size, padding, sigma, isa="avx")
        assert_same_bits(got, want, (trial, src_size, out_size, padding, m.tolist()))
        auto = warp_kernel.warp_keys(image, m, out_size, padding, sigma)
        assert_same_bits(auto, want, trial)
        evaluated += int((want != 0).sum())
    assert evaluated > 100_000  # mostly pixels evaluated, not the skipped +0


@needs_avx
@pytest.mark.parametrize("padding", ["zeros", "border"])
def test_avx_path_bits_far_out(padding):
    """Only far_src_from_dst's coordinates (border padding: the edge pixels weighted by
    the far axis's fractions, which the floor beyond 4e15 makes 0), and NaN, Inf and -0
    pixels on the source's edges: the same bits on either path."""
    rng = np.random.default_rng(23)
    for trial in range(150):
        src_size = tuple(int(n) for n in rng.integers(1, 12, 2))
        out_size = (int(rng.integers(1, 20)), int(rng.integers(1, 140)))
        image = torch.from_numpy(rng.normal(0.5, 2.0, (1, 3, *src_size)).astype(np.float32))
        if trial % 2:
            image = special_values(rng, image)
            specials = np.array([np.inf, -np.inf, np.nan, -0.0, 1.0], np.float32)
            for rows, cols in ((0, slice(None)), (-1, slice(None)), (slice(None), 0),
                               (slice(None), -1)):  # the edges
                edge = image[0, :, rows, cols]
                edge.copy_(torch.from_numpy(rng.choice(specials, edge.shape)))
        m = far_src_from_dst(rng, src_size)[None]
        want = warp_kernel.warp_keys(image, m, out_size, padding, isa="baseline")
        got = warp_kernel.warp_keys(image, m, out_size, padding, isa="avx")
        assert_same_bits(got, want, (trial, src_size, out_size, m.tolist()))
    # Rows overflowing past their first pixel (evaluated pixel by pixel), that pixel ~1e307
    # out along one axis (fraction 0: its outer taps weigh +0, so that an Inf they read
    # would make NaN), the other axis within the source, whose edges are +-Inf.
    image = torch.rand(1, 2, 6, 7)
    image[..., 0], image[..., -1] = float("inf"), float("-inf")
    image[..., 0, :], image[..., -1, :] = float("-inf"), float("inf")
    for far in (0, 1):
        for sign in (1.0, -1.0):
            m = np.array([[0.3, 0.05, 2.0], [0.05, 0.3, 2.0], [0.0, 0.0, 1.0]])
            m[far, 0] = sign * 1e308
            want = warp_kernel.warp_keys(image, m[None], (9, 5), padding, isa="baseline")
            assert want[..., -1].isnan().all()  # +-Inf coordinates there
            got = warp_kernel.warp_keys(image, m[None], (9, 5), padding, isa="avx")
            assert_same_bits(got, want, m.tolist())


@needs_avx
@pytest.mark.parametrize("padding", ["zeros", "border"])
def test_avx_path_bits_at_the_render_size(padding):
    """The render's warp (a 256 px face into a 944 px ROI, rotated) and its antialiased
    crop back to 256 px: the same bits on either path, rows split over threads."""
    rng = np.random.default_rng(22)
    face = torch.from_numpy(rng.random((1, 3, 256, 256), np.float32))
    m = np.linalg.inv(similarity(900 / 256, 0.12, 30.0, -10.0))[None]
    want = warp_kernel.warp_keys(face, m, (944, 944), padding, isa="baseline")
    assert_same_bits(warp_kernel.warp_keys(face, m, (944, 944), padding, isa="avx"), want)
    roi = torch.from_numpy(rng.random((1, 3, 944, 944), np.float32))
    crop = np.linalg.inv(m[0])[None]
    sigma = antialias_sigma(256 / 900)
    want = warp_kernel.warp_keys(roi, crop, (256, 256), padding, sigma, isa="baseline")
    assert_same_bits(warp_kernel.warp_keys(roi, crop, (256, 256), padding, sigma, isa="avx"),
                     want)


def test_isa_names_are_checked(monkeypatch):
    """An unknown name is refused; "avx" where the CPU has none is refused, not run."""
    image, m = torch.rand(1, 3, 8, 8), similarity(2.0, 0.1, 0, 0)[None]
    assert warp_kernel.instruction_set() in ("avx", "baseline")
    with pytest.raises(ValueError, match="instruction set"):
        warp_kernel.warp_keys(image, m, (16, 16), "zeros", isa="sse9")
    monkeypatch.setattr(warp_kernel, "instruction_set", lambda: "baseline")
    with pytest.raises(RuntimeError, match="cannot run 'avx'"):
        warp_kernel.warp_keys(image, m, (16, 16), "zeros", isa="avx")
    out = warp_kernel.warp_keys(image, m, (16, 16), "zeros", isa="baseline")
    assert out.shape == (1, 3, 16, 16)


def scipy_plane_blur(plane: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """scipy's separable correlation with the symmetric kernel of half ``weights``, along
    y then x, edges extended, float32 between and after the passes (gaussian_filter's)."""
    from scipy import ndimage

    full = np.concatenate([weights[:0:-1], weights])
    y = ndimage.correlate1d(plane, full, axis=0, mode="nearest")
    return ndimage.correlate1d(y, full, axis=1, mode="nearest")


@pytest.mark.parametrize("width", [1, 7, 8, 15, 16, 31, 45, 100])
@pytest.mark.parametrize("radius", [0, 1, 5, 16])
def test_plane_blur_is_scipys_to_the_bit(width, radius):
    """Every width around the kernel's 8- and 16-pixel steps and their tails, kernels
    wider than the plane, one tap; values of every sign and size, NaN and Inf."""
    rng = np.random.default_rng(width * 100 + radius)
    plane = (rng.standard_normal((23, width)) * 10.0 ** rng.integers(-3, 4, (23, width))
             ).astype(np.float32)
    plane[3, 0] = np.nan
    plane[-1, -1] = np.inf
    weights = rng.random(radius + 1)
    weights /= 2 * weights.sum() - weights[0]
    got, want = warp_kernel.blur_plane(plane, weights), scipy_plane_blur(plane, weights)
    np.testing.assert_array_equal(got.view(np.uint32)[~np.isnan(want)],
                                  want.view(np.uint32)[~np.isnan(want)])
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))


def test_plane_blur_reads_rows_of_any_pitch_and_splits_rows(monkeypatch):
    rng = np.random.default_rng(3)
    big = rng.random((60, 90)).astype(np.float32)
    view = big[5:50, 7:77]  # rows 90 floats apart
    weights = np.array([0.4, 0.2, 0.1])
    whole = warp_kernel.blur_plane(view, weights)
    np.testing.assert_array_equal(whole, scipy_plane_blur(view, weights))

    def bands(h, rows):
        for r0 in reversed(range(0, h, 4)):
            rows(r0, min(r0 + 4, h))

    monkeypatch.setattr(warp_kernel, "_split_rows", bands)
    np.testing.assert_array_equal(warp_kernel.blur_plane(view, weights), whole)


def test_plane_blur_checks_its_input():
    weights = np.array([0.5, 0.25])
    with pytest.raises(ValueError, match="float32 plane"):
        warp_kernel.blur_plane(np.zeros((4, 4)), weights)  # float64
    with pytest.raises(ValueError, match="float32 plane"):
        warp_kernel.blur_plane(np.zeros((4, 8), np.float32)[:, ::2], weights)  # strided
    with pytest.raises(ValueError, match="radius"):
        warp_kernel.blur_plane(np.zeros((4, 4), np.float32), np.zeros((0,)))
