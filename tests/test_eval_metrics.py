"""Evaluation metrics against scikit-image (and pytorch-msssim), whole crop and face mask."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage.metrics import mean_squared_error, peak_signal_noise_ratio, structural_similarity

from faceswap_vfx.eval import metrics as M

torch.set_num_threads(1)


def pair(size: int, batch: int = 2, seed: int = 0):
    """float64 smooth images and noisy, darkened copies, in [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    x = F.interpolate(torch.rand(batch, 3, size // 4, size // 4, generator=g, dtype=torch.float64),
                      size=size, mode="bilinear", align_corners=False)
    y = (0.9 * x + 0.05 + 0.08 * torch.randn(x.shape, generator=g, dtype=torch.float64))
    return x, y.clamp(0, 1)


def disc(size: int, batch: int = 2, radius: float = 0.3, soft: bool = False) -> torch.Tensor:
    t = torch.linspace(-0.5, 0.5, size, dtype=torch.float64)
    yy, xx = torch.meshgrid(t, t, indexing="ij")
    r = (xx**2 + yy**2).sqrt()
    m = (0.5 - (r - radius) * 10).clamp(0, 1) if soft else (r < radius).double()
    return m[None, None].repeat(batch, 1, 1, 1)


def hwc(t: torch.Tensor) -> np.ndarray:
    return t.permute(1, 2, 0).numpy()


def skimage_ssim(x, y, mask=None):
    """scikit-image's SSIM; with a mask, its full SSIM map (border of the 11-px Gaussian
    window cropped, as scikit-image's own mean does) averaged with the mask as weights."""
    out = []
    for k in range(len(x)):
        mean, full = structural_similarity(hwc(x[k]), hwc(y[k]), channel_axis=-1,
                                           data_range=1.0, gaussian_weights=True, sigma=1.5,
                                           use_sample_covariance=False, full=True)
        if mask is None:
            out.append(mean)
            continue
        pad = 5
        s = full[pad:-pad, pad:-pad]
        w = mask[k, 0].numpy()[pad:-pad, pad:-pad, None]
        out.append(float((s * w).sum() / (w.sum() * s.shape[-1])))
    return np.array(out)


@pytest.mark.parametrize("soft", [False, True])
def test_ssim_whole_and_masked_match_scikit_image(soft):
    x, y = pair(48)
    m = disc(48, soft=soft)
    np.testing.assert_allclose(1 - M.one_minus_ssim(y, x).numpy(), skimage_ssim(y, x),
                               rtol=0, atol=1e-10)
    np.testing.assert_allclose(1 - M.one_minus_ssim(y, x, m).numpy(), skimage_ssim(y, x, m),
                               rtol=0, atol=1e-10)


def test_psnr_l1_l2_whole_and_masked_match_scikit_image():
    """Masked figures with a 0/1 mask are the plain figures of the pixels inside it."""
    x, y = pair(40, batch=3)
    m = disc(40, batch=3)
    for k in range(3):
        a, b, inside = hwc(x[k]), hwc(y[k]), m[k, 0].numpy() > 0
        assert M.psnr(y, x)[k] == pytest.approx(peak_signal_noise_ratio(a, b, data_range=1.0),
                                                abs=1e-9)
        assert M.psnr(y, x, m)[k] == pytest.approx(
            peak_signal_noise_ratio(a[inside], b[inside], data_range=1.0), abs=1e-9)
        assert M.l2(y, x)[k] == pytest.approx(mean_squared_error(a, b), abs=1e-12)
        assert M.l2(y, x, m)[k] == pytest.approx(mean_squared_error(a[inside], b[inside]),
                                                 abs=1e-12)
        assert M.l1(y, x, m)[k] == pytest.approx(np.abs(a[inside] - b[inside]).mean(), abs=1e-12)


def test_ms_ssim_matches_pytorch_msssim():
    """Five scales need > 160 px in pytorch-msssim; 1e-5: it builds its window in float32."""
    pm = pytest.importorskip("pytorch_msssim")
    x, y = pair(176, batch=1)
    ref = pm.ms_ssim(y, x, data_range=1.0, size_average=False)
    np.testing.assert_allclose(1 - M.one_minus_ms_ssim(y, x).numpy(), ref.numpy(), atol=1e-5)


def test_masked_ms_ssim_weights_the_face():
    x, y = pair(64)
    ones = torch.ones(2, 1, 64, 64, dtype=torch.float64)
    torch.testing.assert_close(M.one_minus_ms_ssim(y, x, ones), M.one_minus_ms_ssim(y, x))
    m = disc(64)
    worse = torch.where(m.bool().expand_as(y), y, torch.rand_like(y))  # noise outside only
    assert M.one_minus_ms_ssim(worse, x, m).max() < M.one_minus_ms_ssim(worse, x).min()


def test_identical_images_and_every_region():
    x, _ = pair(32)
    m = disc(32)
    values = M.image_metrics(x, x, m)
    assert list(values) == list(M.METRICS) == ["1-ssim", "1-ms_ssim", "psnr", "l1", "l2"]
    for name, regions in values.items():
        assert set(regions) == set(M.REGIONS)
        for v in regions.values():
            assert v.shape == (2,) and v.dtype == torch.float64
            if name == "psnr":
                assert torch.isinf(v).all()
            else:
                assert v.abs().max() < 1e-12
    s = M.summarise(values["psnr"]["crop"])
    assert s["exact"] == 2 and s["mean"] == float("inf")
    assert M.summarise(torch.tensor([1.0, 3.0]))["mean"] == 2.0


@pytest.mark.parametrize(("pred", "target", "weight"), [
    (torch.zeros(2, 3, 8, 8), torch.zeros(2, 3, 8, 9), None),
    (torch.zeros(2, 1, 8, 8), torch.zeros(2, 1, 8, 8), None),
    (torch.zeros(2, 3, 8, 8), torch.zeros(2, 3, 8, 8), torch.ones(2, 3, 8, 8)),
])
def test_bad_shapes_are_refused(pred, target, weight):
    with pytest.raises(ValueError, match="must be"):
        M.l1(pred, target, weight)
