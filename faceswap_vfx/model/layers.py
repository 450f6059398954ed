"""The building blocks of one level of the comb network (Table 1, Naruniec et al. 2020).

Every convolution has a bias and is followed by LeakyReLU(0.2), except to-RGB (sigmoid).
3x3 convolutions pad by 1 with zeros. Downsampling is a 2x2 average pool, upsampling is
nearest-neighbour 2x, as in progressive GANs; the fade-in uses the same two functions.
Feature maps are ``(B, C, H, W)``; ``factory`` is ``dict(device=..., dtype=...)``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

LEAKY_SLOPE = 0.2
_GAIN = math.sqrt(2.0 / (1.0 + LEAKY_SLOPE**2))


def conv_params(kernel: int, c_in: int, c_out: int) -> int:
    """Parameters of a ``kernel`` x ``kernel`` convolution with bias."""
    return kernel * kernel * c_in * c_out + c_out


def downsample(x: torch.Tensor) -> torch.Tensor:
    """``(B, C, H, W) -> (B, C, H/2, W/2)`` by 2x2 averages."""
    return F.avg_pool2d(x, 2)


def upsample(x: torch.Tensor) -> torch.Tensor:
    """``(B, C, H, W) -> (B, C, 2H, 2W)`` by nearest neighbour."""
    return F.interpolate(x, scale_factor=2.0, mode="nearest")


def leaky_act(x: torch.Tensor) -> torch.Tensor:
    """LeakyReLU(0.2) of a convolution's fresh output, in place without autograd."""
    # x is always a convolution's fresh output: without autograd (inference, exports
    # traced under no_grad) it can be overwritten, saving a full-size allocation per layer
    return F.leaky_relu(x, LEAKY_SLOPE, inplace=not x.requires_grad)


def _init(layer: nn.Conv2d | nn.ConvTranspose2d, fan_in: int, gain: float) -> None:
    """He-normal weights for the true fan-in, zero bias; the weights' standard deviation is
    kept as ``layer.init_std`` (the optimiser scales each layer's step by it)."""
    layer.init_std = gain / math.sqrt(fan_in)
    if layer.weight.is_meta:  # values come from a checkpoint; and drawing on meta tensors
        return  # goes through torch._refs, which imports torch._dynamo (~3 s a process)
    with torch.no_grad():
        layer.weight.normal_(0.0, layer.init_std)
        layer.bias.zero_()


def _conv(c_in: int, c_out: int, kernel: int, factory: dict[str, Any],
          gain: float = _GAIN) -> nn.Conv2d:
    conv = nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2 if kernel == 3 else 0, **factory)
    _init(conv, c_in * kernel * kernel, gain)
    return conv


class FromRGB(nn.Module):
    """``(B, 3, R, R) -> (B, c, R, R)``: 1x1 conv + LeakyReLU (Table 1, level 8, first row)."""

    def __init__(self, channels: int, factory: dict[str, Any]):
        super().__init__()
        self.conv = _conv(3, channels, 1, factory)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return leaky_act(self.conv(x))


class ToRGB(nn.Module):
    """``(B, c, R, R) -> (B, 3, R, R)`` in [0, 1]: 1x1 conv + sigmoid (Table 1, last row)."""

    def __init__(self, channels: int, factory: dict[str, Any]):
        super().__init__()
        self.conv = _conv(channels, 3, 1, factory, gain=1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.conv(x))


class EncoderLevel(nn.Module):
    """Encoder level >= 1: ``(B, c, R, R) -> (B, c_next, R/2, R/2)``.

    conv 3x3 c->c, conv 3x3 c->c_next, 2x average pool (``c_next`` is the channels of the
    level below: Table 1 doubles the channels in the second convolution).
    """

    def __init__(self, c: int, c_next: int, factory: dict[str, Any]):
        super().__init__()
        self.conv1 = _conv(c, c, 3, factory)
        self.conv2 = _conv(c, c_next, 3, factory)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return downsample(leaky_act(self.conv2(leaky_act(self.conv1(x)))))


class EncoderBase(nn.Module):
    """Encoder level 0: ``(B, c, 4, 4) -> (B, latent, 1, 1)``: conv 3x3, then 4x4 valid conv."""

    def __init__(self, c: int, latent: int, factory: dict[str, Any]):
        super().__init__()
        self.conv1 = _conv(c, c, 3, factory)
        self.conv2 = _conv(c, latent, 4, factory)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return leaky_act(self.conv2(leaky_act(self.conv1(x))))


class DecoderBase(nn.Module):
    """Decoder level 0: ``(B, latent, 1, 1) -> (B, c, 4, 4)``: 4x4 transposed conv, conv 3x3."""

    def __init__(self, latent: int, c: int, factory: dict[str, Any]):
        super().__init__()
        self.conv1 = nn.ConvTranspose2d(latent, c, 4, **factory)
        _init(self.conv1, latent, _GAIN)  # from 1x1 each output pixel sees `latent` inputs
        self.conv2 = _conv(c, c, 3, factory)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return leaky_act(self.conv2(leaky_act(self.conv1(z))))


class DecoderLevel(nn.Module):
    """Decoder level >= 1: ``(B, c_prev, R, R) -> (B, c, 2R, 2R)``.

    Nearest 2x upsample, conv 3x3 c_prev->c, conv 3x3 c->c (Table 1 halves the channels in
    the first convolution).
    """

    def __init__(self, c_prev: int, c: int, factory: dict[str, Any]):
        super().__init__()
        self.conv1 = _conv(c_prev, c, 3, factory)
        self.conv2 = _conv(c, c, 3, factory)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return leaky_act(self.conv2(leaky_act(self.conv1(upsample(x)))))
