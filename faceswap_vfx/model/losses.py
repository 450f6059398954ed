"""Reconstruction losses, selectable by name, weighted by the face mask.

Every loss is an ``nn.Module`` registered with :func:`register_loss` and called as
``loss(pred, target, weight)``: ``pred``/``target`` ``(B, 3, H, W)`` in [0, 1], ``weight``
``(B, 1, H, W)`` >= 0 or ``None`` (uniform); it returns a scalar, 0 for identical images.
Weighted means are per image (``sum(w * l) / sum(w)``), then averaged over the batch, so a
small face counts as much as a large one. :class:`ReconstructionLoss` builds the weight from
a mask as ``mask + background_weight * (1 - mask)`` and sums the named losses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from faceswap_vfx.errors import ParameterError
from faceswap_vfx.model import ssim as _ssim
from faceswap_vfx.model.perceptual import VGG16_LAYOUT, VGG16_TAPS, Layout, load_feature_net

LOSSES: dict[str, Callable[..., nn.Module]] = {}
"""Loss name -> factory (the class); options of the factory are keyword arguments."""


def register_loss(name: str) -> Callable[[type[nn.Module]], type[nn.Module]]:
    """Class decorator: make a loss available to :func:`build_loss` under ``name``."""

    def add(cls: type[nn.Module]) -> type[nn.Module]:
        if name in LOSSES:
            raise ValueError(f"loss {name!r} registered twice")
        LOSSES[name] = cls
        return cls

    return add


def build_loss(name: str, **options: Any) -> nn.Module:
    """The loss registered as ``name``, built with ``options``."""
    if name not in LOSSES:
        raise ParameterError(f"unknown loss {name!r}; known: {', '.join(sorted(LOSSES))}")
    return LOSSES[name](**options)


def pixel_weight(mask: torch.Tensor, background_weight: float) -> torch.Tensor:
    """Mask ``(B, 1, H, W)`` in [0, 1] -> weight ``mask + background_weight * (1 - mask)``."""
    if mask.ndim != 4 or mask.shape[1] != 1:
        raise ValueError(f"mask must be (B, 1, H, W), got {tuple(mask.shape)}")
    return mask + background_weight * (1.0 - mask)


def weighted_mean(values: torch.Tensor, weight: torch.Tensor | None) -> torch.Tensor:
    """Per-image weighted mean of ``(B, C, H, W)`` values, averaged over the batch.

    ``weight`` ``(B, 1, h, w)`` is area-resampled to ``(H, W)`` if its size differs.
    """
    if weight is None:
        return values.mean()
    if weight.shape[2:] != values.shape[2:]:
        weight = F.adaptive_avg_pool2d(weight, values.shape[2:])
    weight = weight.expand_as(values)
    per_image = (values * weight).flatten(1).sum(1) / weight.flatten(1).sum(1).clamp_min(1e-12)
    return per_image.mean()


def _check(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None) -> None:
    if pred.ndim != 4 or pred.shape[1] != 3 or pred.shape != target.shape:
        raise ValueError(f"pred and target must be (B, 3, H, W) of one shape, got "
                         f"{tuple(pred.shape)} and {tuple(target.shape)}")
    if weight is not None and (weight.ndim != 4 or weight.shape[1] != 1
                               or weight.shape[0] != pred.shape[0]
                               or weight.shape[2:] != pred.shape[2:]):
        raise ValueError(f"weight must be (B, 1, H, W) matching {tuple(pred.shape)}, "
                         f"got {tuple(weight.shape)}")


@register_loss("l1")
class L1Loss(nn.Module):
    """Weighted mean absolute difference."""

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                weight: torch.Tensor | None = None) -> torch.Tensor:
        _check(pred, target, weight)
        return weighted_mean((pred - target).abs(), weight)


@register_loss("ssim")
class SSIMLoss(nn.Module):
    """``1 - SSIM``, the SSIM map weighted per pixel (see :mod:`faceswap_vfx.model.ssim`)."""

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                weight: torch.Tensor | None = None) -> torch.Tensor:
        _check(pred, target, weight)
        return 1.0 - _ssim.ssim(pred, target, weight).mean()


@register_loss("ms_ssim")
class MSSSIMLoss(nn.Module):
    """``1 - MS-SSIM``, each scale's map weighted by the pooled weight."""

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                weight: torch.Tensor | None = None) -> torch.Tensor:
        _check(pred, target, weight)
        return 1.0 - _ssim.ms_ssim(pred, target, weight).mean()


@register_loss("perceptual")
class PerceptualLoss(nn.Module):
    """Mean over taps of the weighted L1 distance between frozen VGG-style features.

    ``path``: the feature net's state dict, supplied by the user (nothing is downloaded;
    a missing file raises :class:`~faceswap_vfx.errors.ModelFileError`). ``layout`` and
    ``taps`` default to torchvision's VGG16 and relu1_2..relu4_3.
    """

    def __init__(self, path: str | Path, layout: Layout = VGG16_LAYOUT,
                 taps: Sequence[int] = VGG16_TAPS):
        super().__init__()
        self.net = load_feature_net(path, layout, taps)

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                weight: torch.Tensor | None = None) -> torch.Tensor:
        _check(pred, target, weight)
        with torch.no_grad():
            wanted = self.net(target)
        got = self.net(pred)
        if not got:
            return pred.sum() * 0.0
        return torch.stack([weighted_mean((g - w).abs(), weight)
                            for g, w in zip(got, wanted, strict=True)]).mean()


class ReconstructionLoss(nn.Module):
    """``sum(weights[name] * loss_name(pred, target, mask weight))`` over the named losses.

    ``weights``: loss name -> weight >= 0 (names from :data:`LOSSES`; zero weights are not
    built). ``background_weight`` in [0, 1]: weight of pixels outside the mask.
    ``options``: loss name -> keyword arguments of its factory (e.g.
    ``{"perceptual": {"path": "vgg16.pth"}}``).
    """

    def __init__(self, weights: Mapping[str, float], background_weight: float,
                 options: Mapping[str, Mapping[str, Any]] | None = None):
        super().__init__()
        if not 0.0 <= background_weight <= 1.0:
            raise ParameterError(f"background_weight {background_weight} outside [0, 1]")
        options = dict(options or {})
        extra = sorted(set(options) - set(weights))
        if extra:
            raise ParameterError(f"options given for loss(es) without a weight: {extra}")
        for name, w in weights.items():
            if not w >= 0.0:
                raise ParameterError(f"loss {name!r} has weight {w}; weights must be >= 0")
        self.weights = {name: float(w) for name, w in weights.items() if w > 0}
        if not self.weights:
            raise ParameterError("no loss has a positive weight")
        self.background_weight = float(background_weight)
        self.losses = nn.ModuleDict({name: build_loss(name, **options.get(name, {}))
                                     for name in self.weights})

    def terms(self, pred: torch.Tensor, target: torch.Tensor,
              mask: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Each loss, unweighted (scalars, for logging), by name.

        ``pred``/``target`` ``(B, 3, H, W)`` in [0, 1]; ``mask`` ``(B, 1, H, W)`` in [0, 1]
        (1: face) or ``None`` (every pixel weighs 1).
        """
        weight = None if mask is None else pixel_weight(mask, self.background_weight)
        return {name: loss(pred, target, weight) for name, loss in self.losses.items()}

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                mask: torch.Tensor | None = None) -> torch.Tensor:
        """The weighted sum of :meth:`terms` (a scalar)."""
        terms = self.terms(pred, target, mask)
        return sum(self.weights[name] * value for name, value in terms.items())
