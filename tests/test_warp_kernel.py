"""The compiled Keys warp (core/_warp_kernel.c) against the torch path it replaces."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from faceswap_vfx.core import warp, warp_kernel
from faceswap_vfx.core.warp import warp_affine

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
