"""faceswap's "Original" model, written in this project's torch as a baseline for the benches.

Shapes from faceswap's published ``plugins/train/model/original.py`` (64 px input): a shared
encoder of four 5x5 stride-2 convolutions (128, 256, 512, 1024 channels, LeakyReLU 0.1), a
dense bottleneck of 1024, a dense layer back to 4x4x1024 and one 2x sub-pixel upscale to
8x8x512; one decoder per identity of three sub-pixel upscales (256, 128, 64) and a 5x5
convolution to RGB with a sigmoid. An upscale is a 3x3 convolution to 4x the channels,
LeakyReLU 0.1 and a pixel shuffle. Its default training (faceswap's ``train_config.py``):
loss SSIM + 100 % MSE inside the face mask, Adam lr 5e-5, betas (0.9, 0.999), eps 1e-7.

At 128 px (faceswap's Original exists at 64 px only) the encoder starts with one more 5x5
stride-2 convolution (64 channels) and each decoder ends with one more upscale (32): the
same design one level larger, as faceswap's larger models grow.
"""

from __future__ import annotations

import torch
from torch import nn

from faceswap_vfx.model import ssim as _ssim

SLOPE = 0.1
LR, BETAS, EPS = 5e-5, (0.9, 0.999), 1e-7


def _down(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 5, 2, 2), nn.LeakyReLU(SLOPE))


def _up(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, 4 * c_out, 3, 1, 1), nn.LeakyReLU(SLOPE),
                         nn.PixelShuffle(2))


class OriginalModel(nn.Module):
    """``(B, 3, R, R)`` in [0, 1] -> the same, per identity; ``R`` 64 or 128."""

    def __init__(self, identities: list[str], resolution: int = 64):
        super().__init__()
        if resolution not in (64, 128):
            raise ValueError(f"the Original baseline is 64 or 128 px, not {resolution}")
        extra = resolution == 128
        chans = [3] + [64] * extra + [128, 256, 512, 1024]
        self.encoder = nn.Sequential(
            *[_down(a, b) for a, b in zip(chans, chans[1:], strict=False)],
            nn.Flatten(), nn.Linear(1024 * 4 * 4, 1024), nn.Linear(1024, 1024 * 4 * 4),
            nn.Unflatten(1, (1024, 4, 4)), _up(1024, 512))
        dec = [512, 256, 128, 64] + [32] * extra
        self.decoders = nn.ModuleDict({n: nn.Sequential(
            *[_up(a, b) for a, b in zip(dec, dec[1:], strict=False)],
            nn.Conv2d(dec[-1], 3, 5, 1, 2), nn.Sigmoid()) for n in identities})

    def forward(self, x: torch.Tensor, identity: str) -> torch.Tensor:
        return self.decoders[identity](self.encoder(x))


def original_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """faceswap's default: ``(1 - SSIM) + MSE``, both weighted by the face mask."""
    mse = ((pred - target) ** 2 * mask).flatten(1).sum(1) / (
        mask.flatten(1).sum(1).clamp_min(1e-6) * 3)
    return (1.0 - _ssim.ssim(pred, target, mask)).mean() + mse.mean()


def optimizer(model: OriginalModel) -> torch.optim.Adam:
    return torch.optim.Adam(model.parameters(), lr=LR, betas=BETAS, eps=EPS)
