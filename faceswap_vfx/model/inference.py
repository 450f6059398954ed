"""The swap module's function in fewer operations, for rendering.

:func:`inference_module` rebuilds a :class:`~faceswap_vfx.model.export.SwapModule` (eager,
or its TorchScript export) from its weights, layer for layer, with three rewrites that
compute the same values up to float rounding (the sums run in another order):

* **nearest 2x upsample + 3x3 conv** (every decoder level) as one stride-2 transposed
  convolution of the small input with a 4x4 kernel. Output pixel ``(2i + a, 2j + b)`` of
  the 3x3 conv of the upsampled map sees input rows ``i - 1, i`` (``a = 0``) or
  ``i, i + 1`` (``a = 1``), the taps that land on the same input pixel summed; columns
  alike; the transposed kernel holds those sums, each phase's on every other row and
  column. 16 multiply-adds per output pixel and channel pair instead of 36, and no
  upsampled map.
* **4x4 valid conv of a 4x4 map** (encoder level 0) and **4x4 transposed conv of a 1x1
  map** (decoder level 0) as the dense layers they are: no weight reordering per call.
* **1x1 convs** (from-RGB, to-RGB), where oneDNN does not run them (below), as matrix
  products over the channels of channels-last maps (torch's own 1x1 path is a slow
  fallback on one thread).

On the CPU each convolution and its LeakyReLU run as one oneDNN call (the activation
applied as the output is stored: one pass over each map fewer; the same values), where
this build of torch has oneDNN's fused operators; elsewhere, a convolution then the
activation in place.

Weights are buffers (no autograd); the module is for inference only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from faceswap_vfx.model.export import SwapModule
from faceswap_vfx.model.layers import LEAKY_SLOPE, leaky_act

_FUSED = torch.backends.mkldnn.is_available() and all(
    hasattr(torch.ops.mkldnn, op)
    for op in ("_convolution_pointwise", "_convolution_transpose_pointwise"))
"""oneDNN's convolution + activation operators (those torch's compiler emits on the CPU)."""

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
        if _fusable(x, self.weight):
            return torch.ops.mkldnn._convolution_pointwise(
                x, self.weight, self.bias, [1, 1], [1, 1], [1, 1], 1, "leaky_relu",
                [LEAKY_SLOPE], "")
        return leaky_act(F.conv2d(x, self.weight, self.bias, padding=1))


class AvgPool2(nn.Module):
    """``(B, C, H, W) -> (B, C, H/2, W/2)`` by 2x2 averages."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(x, 2)


def transposed_weights(weight: torch.Tensor) -> torch.Tensor:
    """3x3 kernels ``(Co, Ci, 3, 3)`` of a conv after a nearest 2x upsample -> the 4x4
    kernels ``(Ci, Co, 4, 4)`` of the same map as a stride-2 transposed conv (padding 1).
    Kernel row ``t`` weighs input row ``i`` into output row ``2i + t - 1``: rows 3 and 1
    make output phase ``a = 0`` from input rows ``i - 1`` (kernel row 0) and ``i``
    (rows 1 + 2); rows 2 and 0 phase ``a = 1`` from rows ``i`` (0 + 1) and ``i + 1`` (2).
    Columns alike."""
    w = weight
    rows = torch.stack([w[:, :, 2], w[:, :, 1] + w[:, :, 2], w[:, :, 0] + w[:, :, 1],
                        w[:, :, 0]], 2)                                   # (Co, Ci, 4, 3)
    both = torch.stack([rows[..., 2], rows[..., 1] + rows[..., 2], rows[..., 0] + rows[..., 1],
                        rows[..., 0]], 3)                                 # (Co, Ci, 4, 4)
    return both.transpose(0, 1).contiguous()


class UpConv3x3(_Weights):
    """``(B, Ci, H, W) -> (B, Co, 2H, 2W)``: nearest 2x upsample, 3x3 conv (zero padding 1),
    LeakyReLU, computed as one stride-2 transposed conv of the ``H x W`` input
    (:func:`transposed_weights`)."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor):
        super().__init__(transposed_weights(weight), bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if _fusable(x, self.weight):
            return torch.ops.mkldnn._convolution_transpose_pointwise(
                x, self.weight, self.bias, [1, 1], [0, 0], [2, 2], [1, 1], 1, "leaky_relu",
                [LEAKY_SLOPE], "")
        return leaky_act(F.conv_transpose2d(x, self.weight, self.bias, stride=2, padding=1))


def _fusable(x: torch.Tensor, weight: torch.Tensor) -> bool:
    """Whether oneDNN's fused convolution + LeakyReLU can take ``x``: float32 on the CPU,
    no autograd."""
    return (_FUSED and x.device.type == "cpu" and x.dtype == weight.dtype == torch.float32
            and not x.requires_grad)


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
    """``(B, Ci, H, W) -> (B, Co, H, W)``: 1x1 conv, then ``act`` ("leaky" or "sigmoid"):
    one oneDNN call where :func:`_fusable` (output in the input's memory format), else a
    matrix product over the channels of the channels-last map (output channels-last)."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, act: str):
        super().__init__(weight, bias)  # (Co, Ci, 1, 1)
        self.act = act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if _fusable(x, self.weight):
            attr, scalars = ("sigmoid", []) if self.act == "sigmoid" else \
                ("leaky_relu", [LEAKY_SLOPE])
            return torch.ops.mkldnn._convolution_pointwise(
                x, self.weight, self.bias, [0, 0], [1, 1], [1, 1], 1, attr, scalars, "")
        y = F.linear(x.permute(0, 2, 3, 1), self.weight.flatten(1), self.bias)
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
