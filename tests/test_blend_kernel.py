"""The compiled multi-band blend (core/_mbb_kernel*.c) against the torch path it replaces."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_blend import algorithm_1_case, assert_close_to_algorithm_1

from faceswap_vfx.core import blend, blend_kernel
from faceswap_vfx.core.blend import IMPLEMENTATION_ENV, blend_levels, multiband_blend

pytestmark = pytest.mark.skipif(not blend_kernel.available(),
                                reason="the compiled blend was not built (no C compiler)")

ISAS = ["baseline"] + (["avx2"] if blend_kernel.instruction_set() == "avx2" else [])


def torch_path(source, target, mask, **kw):
    """multiband_blend with the kernel turned off, as a build without it runs."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(IMPLEMENTATION_ENV, "torch")
        assert blend.implementation(source, target, mask) == "torch"
        return multiband_blend(source, target, mask, **kw)


def kernel(source, target, mask, plate_levels=2, mask_sigma=2.0, levels=None, isa="auto"):
    n = levels or blend_levels(*target.shape[-2:])
    return blend_kernel.blend(source, target, mask, n, n - plate_levels, mask_sigma, isa)


def assert_equal_to_rounding(got, want, scale):
    torch.testing.assert_close(got, want, rtol=1e-5, atol=2e-6 * scale, equal_nan=True)


def random_mask(shape, seed):
    """0/1 blobs with soft values here and there, so every level mask is mixed."""
    g = torch.Generator().manual_seed(seed)
    hard = (torch.rand(shape, generator=g) > 0.5).float()
    return hard * torch.rand(shape, generator=g).clamp(0.3, 1.0).round(decimals=1)


def ellipse(h, w, soft=False):
    yy, xx = torch.meshgrid(torch.arange(h) + 0.5, torch.arange(w) + 0.5, indexing="ij")
    r = ((yy - 0.52 * h) / (0.35 * h)) ** 2 + ((xx - 0.5 * w) / (0.3 * w)) ** 2
    return ((1.2 - r).clamp(0, 1) if soft else (r < 1).float())[None, None]


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("size", [(37, 50), (64, 64), (1, 9), (33, 17), (6, 5), (2, 3)])
def test_kernel_equals_the_torch_path(size, channels, isa):
    g = torch.Generator().manual_seed(channels)
    source = torch.randn(2, channels, *size, generator=g) * 4
    target = torch.rand(2, channels, *size, generator=g) * 8 - 2
    mask = random_mask((2, 1, *size), seed=size[0])
    for plate_levels in (0, 1, 2, 3):
        for sigma in (0.0, 1.0, 2.5):
            if plate_levels >= blend_levels(*size):
                continue
            kw = {"plate_levels": plate_levels, "mask_sigma": sigma}
            got = kernel(source, target, mask, isa=isa, **kw)
            assert_equal_to_rounding(got, torch_path(source, target, mask, **kw), 10.0)


@pytest.mark.parametrize("size", [(256, 192), (200, 301), (129, 128)])
@pytest.mark.parametrize("soft", [False, True])
def test_face_masks_on_larger_images(size, soft):
    """A hard landmark mask (runs of 1s, a zero outside: the kernel's shortcuts) and a soft
    one, on even and odd sizes, several levels deep."""
    g = torch.Generator().manual_seed(7)
    source = torch.rand(1, 3, *size, generator=g) * 2
    target = torch.rand(1, 3, *size, generator=g) * 6
    mask = ellipse(*size, soft)
    for sigma in (2.0, 1.0, 0.0, 3.3):
        for isa in ISAS:
            got = kernel(source, target, mask, mask_sigma=sigma, isa=isa)
            assert_equal_to_rounding(got, torch_path(source, target, mask, mask_sigma=sigma), 6)
    # outside the blurred mask's support the output is the plate plus the coarse bands only
    empty = torch.zeros_like(mask)
    torch.testing.assert_close(kernel(source, target, empty), target, rtol=0, atol=1e-6)


def test_strided_channels_last_and_roi_views_are_read_in_place():
    rng = np.random.default_rng(3)
    plate = rng.random((120, 160, 3)).astype(np.float32) * 4  # (H, W, C), as the render's
    face = rng.random((70, 90, 3)).astype(np.float32)
    target = torch.from_numpy(plate[20:90, 30:120]).permute(2, 0, 1)[None]  # ROI view
    source = torch.from_numpy(face).permute(2, 0, 1)[None]  # channels-last
    mask = ellipse(90, 200)[0, 0, 10:80, ::2][:, :90][None, None]  # a column stride of 2
    assert target.stride()[1:] == (1, 160 * 3, 3) and mask.stride(-1) == 2
    want = torch_path(source.contiguous(), target.contiguous(), mask.contiguous())
    before = plate.copy()
    for isa in ISAS:
        got = kernel(source, target, mask, isa=isa)
        assert got.is_contiguous(memory_format=torch.channels_last)
        assert_equal_to_rounding(got, want, 4)
        # mixed layouts: planar source, channels-last target and back
        assert_equal_to_rounding(kernel(source.contiguous(), target, mask, isa=isa), want, 4)
        planar = kernel(source, target.contiguous(), mask, isa=isa)
        assert planar.is_contiguous()
        assert_equal_to_rounding(planar, want, 4)
    np.testing.assert_array_equal(plate, before)  # inputs only read


@pytest.mark.parametrize("path", ["kernel", "torch"])
def test_out_writes_into_the_plate_itself_or_the_source(path, monkeypatch):
    """``out=`` the plate's ROI view blends straight into the plate, ``out=`` the source
    over the source: the same values as a new output, the plate outside the ROI
    untouched."""
    if path == "torch":
        monkeypatch.setenv(IMPLEMENTATION_ENV, "torch")
    rng = np.random.default_rng(5)
    plate = rng.random((2, 150, 170, 3)).astype(np.float32) * 4  # (B, H, W, C) frames
    face = rng.random((2, 96, 128, 3)).astype(np.float32)
    roi = np.s_[:, 30:126, 20:148]
    target = torch.from_numpy(plate[roi]).permute(0, 3, 1, 2)  # views, channels-last
    source = torch.from_numpy(face).permute(0, 3, 1, 2)
    mask = torch.cat([ellipse(96, 128), ellipse(96, 128, soft=True)])
    want = multiband_blend(source, target, mask, mask_sigma=1.5)
    before = plate.copy()
    got = multiband_blend(source, target, mask, mask_sigma=1.5, out=target)
    assert got is target and blend.implementation(source, target, mask) == path
    torch.testing.assert_close(target, want, rtol=0, atol=0)  # the same bits
    outside = np.ones(plate.shape[:3], bool)
    outside[roi[:3]] = False
    np.testing.assert_array_equal(plate[outside], before[outside])
    planar_source = torch.from_numpy(face).permute(0, 3, 1, 2).contiguous()
    planar_target = torch.from_numpy(before[roi]).permute(0, 3, 1, 2).contiguous()
    got = multiband_blend(planar_source, planar_target, mask, mask_sigma=1.5,
                          out=planar_source)
    assert got is planar_source
    torch.testing.assert_close(planar_source, want, rtol=0, atol=0)


def test_out_sharing_memory_otherwise_is_refused():
    rng = np.random.default_rng(6)
    plate = torch.from_numpy(rng.random((1, 3, 40, 60)).astype(np.float32))
    target, source = plate[..., 10:40, :40], torch.rand(1, 3, 30, 40)
    mask = ellipse(30, 40)
    before = plate.clone()
    for out, named in [(plate[..., 9:39, :40], "target"),  # a row off the target
                       (plate[..., 10:40, 1:41], "target"),  # a pixel off
                       (target.contiguous(memory_format=torch.channels_last), None),  # fine
                       (source[:, :, :, :].transpose(2, 3).transpose(2, 3), None),  # same view
                       (mask.expand(1, 3, 30, 40), "mask")]:
        if named:
            with pytest.raises(ValueError, match=named):
                multiband_blend(source, target, mask, out=out)
            assert torch.equal(plate, before)  # refused before anything is written
        else:
            multiband_blend(source, target, mask, out=out)
    with pytest.raises(ValueError, match="out must be"):
        multiband_blend(source, target, mask, out=torch.empty(1, 3, 30, 41))
    with pytest.raises(ValueError, match="out must be"):
        multiband_blend(source, target, mask, out=torch.empty(1, 3, 30, 40, dtype=torch.float64))


def test_matches_a_literal_algorithm_1():
    """The kernel against test_blend's Algorithm 1 on numpy, as the torch path is."""
    S, T, mask, ref = algorithm_1_case(np.float32)

    def chw(a):
        return torch.from_numpy(a.astype(np.float32)).permute(2, 0, 1)[None]

    assert blend.implementation(chw(S), chw(T), torch.from_numpy(mask)[None, None]) == "kernel"
    ours = multiband_blend(chw(S), chw(T), torch.from_numpy(mask)[None, None])
    assert_close_to_algorithm_1(ours[0].permute(1, 2, 0).numpy(), S, T, mask, ref)


def test_inf_and_nan_spread_as_on_the_torch_path():
    g = torch.Generator().manual_seed(5)
    source = torch.rand(1, 3, 64, 80, generator=g)
    target = torch.rand(1, 3, 64, 80, generator=g)
    mask = ellipse(64, 80)
    for where, value in (("source", float("inf")), ("target", float("nan")),
                         ("source", -float("inf")), ("mask", float("nan"))):
        s, t, m = source.clone(), target.clone(), mask.clone()
        {"source": s, "target": t, "mask": m}[where][..., 3, 70] = value
        want = torch_path(s, t, m)
        for isa in ISAS:
            got = kernel(s, t, m, isa=isa)
            assert torch.equal(got.isnan(), want.isnan()), (where, value, isa)
            assert_equal_to_rounding(got, want, 1)
        assert want.isnan().any()


def test_multiband_blend_runs_the_kernel_and_says_so(monkeypatch):
    s, t, m = torch.rand(1, 3, 32, 40), torch.rand(1, 3, 32, 40), ellipse(32, 40)
    assert blend.cpu_kernel_available()
    assert blend.implementation(s, t, m) == "kernel"
    calls = []
    real = blend_kernel.blend
    monkeypatch.setattr(blend_kernel, "blend", lambda *a, **k: calls.append(1) or real(*a, **k))
    multiband_blend(s, t, m)
    assert calls == [1]


def test_the_torch_path_is_kept_for_what_the_kernel_does_not_take(monkeypatch):
    s, t, m = torch.rand(1, 3, 32, 40), torch.rand(1, 3, 32, 40), ellipse(32, 40)
    assert blend.implementation(s.double(), t.double(), m.double()) == "torch"
    assert blend.implementation(s, t.half(), m) == "torch"
    with torch.enable_grad():  # never a silently detached result
        assert blend.implementation(s.requires_grad_(), t, m) == "torch"
    s = s.detach()
    assert multiband_blend(s.double(), t.double(), m.double()).dtype == torch.float64
    monkeypatch.setenv(IMPLEMENTATION_ENV, "torch")
    assert blend.implementation(s, t, m) == "torch"
    monkeypatch.setenv(IMPLEMENTATION_ENV, "gpu please")
    with pytest.raises(ValueError, match=IMPLEMENTATION_ENV):
        blend.implementation(s, t, m)


def test_isas_and_threads_give_the_same_bits():
    g = torch.Generator().manual_seed(11)
    source = torch.rand(2, 3, 300, 260, generator=g)
    target = torch.rand(2, 3, 300, 260, generator=g)
    mask = ellipse(300, 260).expand(2, 1, 300, 260)  # a zero batch stride
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = kernel(source, target, mask, isa="baseline")
        torch.set_num_threads(4)
        for isa in ISAS:
            assert torch.equal(kernel(source, target, mask, isa=isa), one)
    finally:
        torch.set_num_threads(threads)
    assert_equal_to_rounding(one, torch_path(source, target, mask), 2)


def test_bad_arguments_are_refused():
    s = torch.rand(1, 3, 8, 8)
    with pytest.raises(ValueError, match="refused"):
        blend_kernel.blend(s, s, s[:, :1], levels=3, face_levels=4, mask_sigma=1.0)
    with pytest.raises((RuntimeError, KeyError)):
        blend_kernel.blend(s, s, s[:, :1], 3, 1, 1.0, isa="neon")
