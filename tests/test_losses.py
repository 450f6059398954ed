"""Losses: SSIM/MS-SSIM against scikit-image and pytorch-msssim, masks, registry, perceptual."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage.metrics import structural_similarity

from faceswap_vfx.errors import ModelFileError, ParameterError
from faceswap_vfx.model import ssim as S
from faceswap_vfx.model.losses import (
    LOSSES,
    ReconstructionLoss,
    build_loss,
    pixel_weight,
    register_loss,
)
from faceswap_vfx.model.perceptual import FeatureNet

torch.set_num_threads(1)


def pair(size: int, batch: int = 2, seed: int = 0, dtype=torch.float32):
    """A smooth image and a noisy, shifted copy, in [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    x = F.interpolate(torch.rand(batch, 3, size // 4, size // 4, generator=g), size=size,
                      mode="bilinear", align_corners=False)
    y = (0.9 * x + 0.05 + 0.08 * torch.randn(x.shape, generator=g)).clamp(0, 1)
    return x.to(dtype), y.to(dtype)


def disc_mask(size: int, batch: int = 2, radius: float = 0.3) -> torch.Tensor:
    t = torch.linspace(-0.5, 0.5, size)
    yy, xx = torch.meshgrid(t, t, indexing="ij")
    return (xx**2 + yy**2 < radius**2).float()[None, None].repeat(batch, 1, 1, 1)


def skimage_ssim(x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    return np.array([structural_similarity(a.numpy(), b.numpy(), channel_axis=0, data_range=1.0,
                                           gaussian_weights=True, sigma=1.5,
                                           use_sample_covariance=False)
                     for a, b in zip(x.double(), y.double(), strict=True)])


@pytest.mark.parametrize(("dtype", "tol"), [(torch.float64, 1e-10), (torch.float32, 1e-5)])
def test_ssim_matches_scikit_image(dtype: torch.dtype, tol: float) -> None:
    """Tolerance: 1e-10 in float64 (same formula), 1e-5 in float32 (rounding)."""
    x, y = pair(48, dtype=dtype)
    ours = S.ssim(x, y).double().numpy()
    assert ours.dtype == np.float64 and 0.2 < ours.min() < ours.max() < 0.99
    np.testing.assert_allclose(ours, skimage_ssim(x, y), rtol=0, atol=tol)


def test_ssim_and_ms_ssim_match_pytorch_msssim() -> None:
    """Tolerance 1e-5 (float32); MS-SSIM needs > 160 px for pytorch-msssim's five scales."""
    pm = pytest.importorskip("pytorch_msssim")
    x, y = pair(48)
    torch.testing.assert_close(S.ssim(x, y), pm.ssim(x, y, data_range=1.0, size_average=False),
                               rtol=0, atol=1e-5)
    x, y = pair(184, batch=1, seed=3)
    x, y = x[..., :170, :], y[..., :170, :]  # odd sizes on the way down: 170 -> 85 -> 43
    assert S.ms_ssim_scales(170, 184) == 5
    torch.testing.assert_close(S.ms_ssim(x, y),
                               pm.ms_ssim(x, y, data_range=1.0, size_average=False),
                               rtol=0, atol=1e-5)


def test_small_images_use_fewer_scales_and_a_smaller_window() -> None:
    assert [S.ms_ssim_scales(s, s) for s in (4, 16, 22, 32, 64, 160, 176)] == [1, 1, 2, 2, 3, 4, 5]
    assert [S.window_size(s, s) for s in (2, 4, 8, 16)] == [1, 3, 7, 11]
    for size in (4, 8, 16, 32):
        x, y = pair(max(size, 8))
        x, y = x[..., :size, :size], y[..., :size, :size]
        for fn in (S.ssim, S.ms_ssim):
            value = fn(x, y)
            assert torch.isfinite(value).all() and (value < 1.0).all() and (value > 0.0).all()
            torch.testing.assert_close(fn(x, x), torch.ones(2), rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", ["l1", "ssim", "ms_ssim"])
def test_mask_weighting(name: str) -> None:
    x, y = pair(64)
    mask = disc_mask(64)
    loss = build_loss(name)
    plain = loss(y, x)
    assert plain > 0 and loss(x, x) < 1e-6
    torch.testing.assert_close(loss(y, x, torch.ones_like(mask)), plain)
    torch.testing.assert_close(loss(y, x, pixel_weight(mask, 1.0)), plain)
    # spoiling the background moves the face-only loss less than the plain one
    spoiled = torch.where(mask.bool(), y, 1.0 - y)
    face = pixel_weight(mask, 0.0)
    assert loss(spoiled, x, face) - loss(y, x, face) < 0.5 * (loss(spoiled, x) - plain)


@pytest.mark.parametrize("name", ["l1", "ssim"])
def test_background_far_from_the_face_is_ignored_at_weight_zero(name: str) -> None:
    x, y = pair(64)
    mask = disc_mask(64, radius=0.2)  # face within 13 px of the centre; SSIM reaches 5 px
    far = disc_mask(64, radius=0.2 + 8 / 64) == 0
    spoiled = torch.where(far, 1.0 - y, y).requires_grad_(True)
    loss = build_loss(name)
    face = pixel_weight(mask, 0.0)
    value = loss(spoiled, x, face)
    torch.testing.assert_close(value, loss(y, x, face), rtol=0, atol=1e-6)
    value.backward()
    assert spoiled.grad[far.expand_as(spoiled)].abs().max() == 0
    assert spoiled.grad.abs().max() > 0


def test_pixel_weight() -> None:
    mask = torch.tensor([0.0, 0.5, 1.0]).view(1, 1, 1, 3)
    expected = torch.tensor([0.2, 0.6, 1.0]).view(1, 1, 1, 3)
    torch.testing.assert_close(pixel_weight(mask, 0.2), expected)
    with pytest.raises(ValueError):
        pixel_weight(mask[:, 0], 0.2)


def test_reconstruction_loss_is_the_weighted_sum() -> None:
    x, y = pair(32)
    mask = disc_mask(32)
    rec = ReconstructionLoss({"l1": 2.0, "ms_ssim": 0.5, "ssim": 0.0}, background_weight=0.1)
    assert set(rec.losses) == {"l1", "ms_ssim"}
    terms = rec.terms(y, x, mask)
    torch.testing.assert_close(rec(y, x, mask), 2.0 * terms["l1"] + 0.5 * terms["ms_ssim"])
    w = pixel_weight(mask, 0.1)
    torch.testing.assert_close(terms["l1"], ((y - x).abs() * w).sum() / (3 * w.sum()))
    assert rec(x, x, mask) < 1e-6
    for bad in (dict(weights={"l2": 1.0}, background_weight=0.1),
                dict(weights={"l1": 1.0}, background_weight=1.5),
                dict(weights={"l1": -1.0}, background_weight=0.1),
                dict(weights={"l1": 0.0}, background_weight=0.1),
                dict(weights={"l1": 1.0}, background_weight=0.1, options={"ssim": {}})):
        with pytest.raises(ParameterError):
            ReconstructionLoss(**bad)


def test_registry_decorator() -> None:
    @register_loss("test_l2")
    class L2(torch.nn.Module):
        def forward(self, pred, target, weight=None):
            return ((pred - target) ** 2).mean()

    try:
        x, y = pair(16)
        rec = ReconstructionLoss({"test_l2": 1.0}, background_weight=1.0)
        torch.testing.assert_close(rec(y, x), ((y - x) ** 2).mean())
        with pytest.raises(ValueError, match="twice"):
            register_loss("test_l2")(L2)
    finally:
        LOSSES.pop("test_l2")
    with pytest.raises(ParameterError, match="unknown loss"):
        build_loss("test_l2")


# --- perceptual -----------------------------------------------------------------------------
LAYOUT, TAPS = (4, 4, "M", 8, "M", 8), (3, 6, 9)


def test_perceptual_missing_or_bad_file_names_it(tmp_path) -> None:
    missing = tmp_path / "vgg16.pth"
    with pytest.raises(ModelFileError, match="vgg16.pth"):
        build_loss("perceptual", path=missing)
    missing.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelFileError, match="unreadable.*vgg16.pth"):
        build_loss("perceptual", path=missing)
    torch.save({"features.0.weight": torch.zeros(4, 3, 3, 3)}, missing)
    with pytest.raises(ModelFileError, match="lack features.0.bias"):
        build_loss("perceptual", path=missing, layout=LAYOUT, taps=TAPS)


def test_perceptual_loads_a_user_file_and_trains_only_the_prediction(tmp_path) -> None:
    torch.manual_seed(0)
    path = tmp_path / "tiny_vgg.pth"
    state = FeatureNet(LAYOUT, TAPS).state_dict()
    torch.save({**state, "classifier.0.weight": torch.zeros(2, 2)}, path)  # extra keys ignored
    loss = build_loss("perceptual", path=path, layout=LAYOUT, taps=TAPS)
    assert all(torch.equal(v, state[k]) for k, v in loss.net.state_dict().items())
    x, y = pair(16)
    y.requires_grad_(True)
    value = loss(y, x, pixel_weight(disc_mask(16), 0.5))
    assert value > 0 and loss(x, x) == 0
    value.backward()
    assert y.grad.abs().max() > 0
    assert all(p.grad is None and not p.requires_grad for p in loss.net.parameters())
    loss.train()
    assert not loss.net.training
    # too small for the pools: the taps past them are skipped
    assert [len(loss.net(x[..., :s, :s])) for s in (1, 2, 4)] == [1, 2, 3]
