"""The swap module's function in fewer operations, for rendering.

:func:`inference_module` rebuilds a :class:`~faceswap_vfx.model.export.SwapModule` (eager,
or its TorchScript export) from its weights, layer for layer, with three rewrites that
compute the same values up to float rounding (the sums run in another order):

* **nearest 2x upsample + 3x3 conv** (every decoder level) as four 2x2 convolutions of the
  small input, one per output phase, in one convolution of 4x the channels. Output pixel
  ``(2i + a, 2j + b)`` of the 3x3 conv of the upsampled map sees input rows ``i - 1, i``
  (``a = 0``) or ``i, i + 1`` (``a = 1``), the taps that land on the same input pixel
  summed; columns alike. 16 multiply-adds per output pixel and channel pair instead of 36,
  and no upsampled map.
* **4x4 valid conv of a 4x4 map** (encoder level 0) and **4x4 transposed conv of a 1x1
  map** (decoder level 0) as the dense layers they are: no weight reordering per call.
* **1x1 convs** (from-RGB, to-RGB) as matrix products over the channels of channels-last
  maps (torch's own 1x1 path is a slow fallback on one thread).

Weights are buffers (no autograd); the module is for inference only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from faceswap_vfx.model.export import SwapModule
from faceswap_vfx.model.layers import leaky_act

_TWO_CONVS = {"conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias"}


class _Weights(nn.Module):
    """A layer's ``weight`` and ``bias`` as buffers."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor):
        super().__init__()
        self.register_buffer("weight", weight.detach().clone())
        self.register_buffer("bias", bias.detach().clone())


class Conv3x3(_Weights):
    """``(B, Ci, H, W) -> (B, Co, H, W)``: 3x3 conv (zero padding 1) + LeakyReLU."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return leaky_act(F.conv2d(x, self.weight, self.bias, padding=1))


class AvgPool2(nn.Module):
    """``(B, C, H, W) -> (B, C, H/2, W/2)`` by 2x2 averages."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(x, 2)


def phase_weights(weight: torch.Tensor) -> torch.Tensor:
    """3x3 kernels ``(Co, Ci, 3, 3)`` of a conv after a nearest 2x upsample -> the 2x2
    kernels ``(4 Co, Ci, 2, 2)`` of its four output phases, phase ``(a, b)`` (output row
    parity a, column parity b) in channels ``[(2a + b) Co, (2a + b + 1) Co)``."""
    w = weight
    rows = (torch.stack([w[:, :, 0], w[:, :, 1] + w[:, :, 2]], 2),   # a = 0: rows i-1, i
            torch.stack([w[:, :, 0] + w[:, :, 1], w[:, :, 2]], 2))   # a = 1: rows i, i+1
    phases = []
    for r in rows:
        phases.append(torch.stack([r[..., 0], r[..., 1] + r[..., 2]], 3))
        phases.append(torch.stack([r[..., 0] + r[..., 1], r[..., 2]], 3))
    return torch.cat(phases, 0)


class UpConv3x3(_Weights):
    """``(B, Ci, H, W) -> (B, Co, 2H, 2W)``: nearest 2x upsample, 3x3 conv (zero padding 1),
    LeakyReLU, computed as the four 2x2 phase convolutions of the ``H x W`` input
    (:func:`phase_weights`). Output channels-last."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor):
        super().__init__(phase_weights(weight), bias.repeat(4))
        self.co = weight.shape[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        co = self.co
        # (B, H + 1, W + 1, 4 Co): phase (a, b)'s output (i, j) at pixel (i + a, j + b)
        p = leaky_act(F.conv2d(x, self.weight, self.bias, padding=1)).permute(0, 2, 3, 1)
        out = torch.empty((b, h, 2, w, 2 * co), dtype=p.dtype, device=p.device)
        for a in (0, 1):  # four copies with runs of Co floats (one strided copy is slower)
            for c in (0, 1):
                g = (2 * a + c) * co
                out[:, :, a, :, c * co:(c + 1) * co] = p[:, a:a + h, c:c + w, g:g + co]
        return out.view(b, 2 * h, 2 * w, co).permute(0, 3, 1, 2)


class DenseFrom4x4(_Weights):
    """``(B, Ci, 4, 4) -> (B, Co, 1, 1)``: a 4x4 valid conv of a 4x4 map + LeakyReLU."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor):
        super().__init__(weight.reshape(weight.shape[0], -1), bias)  # (Co, Ci 16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.linear(x.reshape(x.shape[0], -1), self.weight, self.bias)
        return leaky_act(y).view(x.shape[0], -1, 1, 1)


class DenseTo4x4(_Weights):
    """``(B, Ci, 1, 1) -> (B, Co, 4, 4)``: a 4x4 transposed conv of a 1x1 map + LeakyReLU
    (``weight``: ``(Ci, Co, 4, 4)``). Output channels-last."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor):
        ci, co = weight.shape[:2]
        # (4, 4, Co, Ci): output pixel-major, so the product is the channels-last map
        super().__init__(weight.permute(2, 3, 1, 0).reshape(16 * co, ci), bias.repeat(16))
        self.co = co

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        y = leaky_act(F.linear(z.reshape(z.shape[0], -1), self.weight, self.bias))
        return y.view(z.shape[0], 4, 4, self.co).permute(0, 3, 1, 2)


class PointConv(_Weights):
    """``(B, Ci, H, W) -> (B, Co, H, W)``: 1x1 conv as a matrix product over the channels,
    then ``act`` ("leaky" or "sigmoid"). Output channels-last."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, act: str):
        super().__init__(weight.reshape(weight.shape[0], -1), bias)
        self.act = act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.linear(x.permute(0, 2, 3, 1), self.weight, self.bias)
        y = torch.sigmoid(y) if self.act == "sigmoid" else leaky_act(y)
        return y.permute(0, 3, 1, 2)


def _layers(state: Mapping[str, torch.Tensor], part: str) -> list[dict[str, torch.Tensor]]:
    """``state``'s ``part.<i>.<name>`` tensors as one dict per ``i``, in order."""
    found: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in state.items():
        m = re.fullmatch(rf"{part}\.(\d+)\.(.+)", key)
        if m:
            found.setdefault(int(m.group(1)), {})[m.group(2)] = value
    if sorted(found) != list(range(len(found))):
        raise ValueError(f"{part} layers are not numbered 0..n-1")
    return [found[i] for i in range(len(found))]


def _shape(p: Mapping[str, torch.Tensor], name: str, kernel: int) -> bool:
    w = p.get(f"{name}.weight")
    return (w is not None and f"{name}.bias" in p and w.dim() == 4
            and tuple(w.shape[2:]) == (kernel, kernel))


def _encoder(layers: list[dict[str, torch.Tensor]]) -> nn.Sequential:
    first, *levels = layers
    if set(first) != {"conv.weight", "conv.bias"} or not _shape(first, "conv", 1) or not levels:
        raise ValueError("encoder does not start with a from-RGB 1x1 conv")
    out: list[nn.Module] = [PointConv(first["conv.weight"], first["conv.bias"], "leaky")]
    for i, p in enumerate(levels):
        if set(p) != _TWO_CONVS or not _shape(p, "conv1", 3):
            raise ValueError(f"encoder layer {i + 1} is not an encoder level")
        out.append(Conv3x3(p["conv1.weight"], p["conv1.bias"]))
        base = i == len(levels) - 1
        if not _shape(p, "conv2", 4 if base else 3):
            raise ValueError(f"encoder layer {i + 1} is not an encoder level")
        if base:
            out.append(DenseFrom4x4(p["conv2.weight"], p["conv2.bias"]))
        else:
            out += [Conv3x3(p["conv2.weight"], p["conv2.bias"]), AvgPool2()]
    return nn.Sequential(*out)


def _decoder(layers: list[dict[str, torch.Tensor]]) -> nn.Sequential:
    if len(layers) < 2:
        raise ValueError("decoder has fewer than two layers")
    *levels, last = layers
    if set(last) != {"conv.weight", "conv.bias"} or not _shape(last, "conv", 1):
        raise ValueError("decoder does not end with a to-RGB 1x1 conv")
    out: list[nn.Module] = []
    for i, p in enumerate(levels):
        if set(p) != _TWO_CONVS or not _shape(p, "conv1", 4 if i == 0 else 3) \
                or not _shape(p, "conv2", 3):
            raise ValueError(f"decoder layer {i} is not a decoder level")
        first = (DenseTo4x4 if i == 0 else UpConv3x3)(p["conv1.weight"], p["conv1.bias"])
        out += [first, Conv3x3(p["conv2.weight"], p["conv2.bias"])]
    out.append(PointConv(last["conv.weight"], last["conv.bias"], "sigmoid"))
    return nn.Sequential(*out)


def inference_module(state: Mapping[str, torch.Tensor], resolution: int) -> SwapModule:
    """A :class:`SwapModule` computing, up to float rounding, the one whose ``state_dict()``
    is ``state`` (an export's, eager or TorchScript: ``encoder.<i>.*``, ``decoder.<i>.*``),
    with the rewrites of this module. On the device and dtype of ``state``; eval mode.

    Raises ``ValueError`` when ``state`` is not laid out as a swap module's.
    """
    module = SwapModule(_encoder(_layers(state, "encoder")), _decoder(_layers(state, "decoder")),
                        int(resolution))
    extra = {k for k in state if not k.startswith(("encoder.", "decoder."))}
    if extra:
        raise ValueError(f"unexpected weights {sorted(extra)[:3]}")
    return module.eval()
