"""Image-quality metrics per image, over the whole crop and inside the face mask.

Every metric is registered with :func:`register_metric` and called as
``metric(pred, target, weight)``: ``pred``/``target`` ``(B, 3, H, W)`` float in [0, 1]
(data range 1), ``weight`` ``(B, 1, H, W)`` >= 0 or ``None`` (every pixel weighs 1); it
returns ``(B,)`` float64, one figure per image. Lower is better for every metric but PSNR.

* ``1-ssim``, ``1-ms_ssim``: :mod:`faceswap_vfx.model.ssim` (the losses' implementation:
  Gaussian window 11 / 1.5, K = 0.01, 0.03, checked against scikit-image and pytorch-msssim);
  with a weight, the SSIM map (each MS-SSIM scale's map, the weight pooled along) is
  averaged with that weight. MS-SSIM uses the scales at which the window fits (3 at 64 px).
* ``psnr``: ``10 log10(1 / mse)`` dB, the (weighted) MSE over pixels and channels; +inf
  for identical images.
* ``l1``: mean absolute difference; ``l2``: mean squared difference (the MSE), both in
  [0, 1] units, (weighted) over pixels and channels.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from faceswap_vfx.model import ssim as _ssim

Metric = Callable[[torch.Tensor, torch.Tensor, "torch.Tensor | None"], torch.Tensor]
METRICS: dict[str, Metric] = {}
"""Metric name -> function, in report order."""

REGIONS = ("crop", "mask")
"""``crop``: every pixel; ``mask``: weighted by the face mask."""

HIGHER_IS_BETTER = {"psnr"}


def register_metric(name: str) -> Callable[[Metric], Metric]:
    """Decorator: add a metric to :data:`METRICS` under ``name``."""

    def add(fn: Metric) -> Metric:
        if name in METRICS:
            raise ValueError(f"metric {name!r} registered twice")
        METRICS[name] = fn
        return fn

    return add


def _check(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None) -> None:
    if pred.ndim != 4 or pred.shape[1] != 3 or pred.shape != target.shape:
        raise ValueError(f"pred and target must be (B, 3, H, W) of one shape, got "
                         f"{tuple(pred.shape)} and {tuple(target.shape)}")
    if not (pred.is_floating_point() and target.is_floating_point()):
        raise ValueError("pred and target must be float images in [0, 1]")
    if weight is not None and (weight.ndim != 4 or weight.shape[1] != 1
                               or weight.shape[0] != pred.shape[0]
                               or weight.shape[2:] != pred.shape[2:]):
        raise ValueError(f"weight must be (B, 1, H, W) matching {tuple(pred.shape)}, got "
                         f"{tuple(weight.shape)}")


def _mean(values: torch.Tensor, weight: torch.Tensor | None) -> torch.Tensor:
    """Per-image (weighted) mean of ``(B, C, H, W)`` values over pixels and channels."""
    if weight is None:
        return values.flatten(1).mean(1)
    w = weight.to(values.dtype).expand_as(values)
    return (values * w).flatten(1).sum(1) / w.flatten(1).sum(1).clamp_min(1e-12)


def _f64(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None):
    _check(pred, target, weight)
    dtype = torch.promote_types(pred.dtype, torch.float32)
    return pred.to(dtype), target.to(dtype), None if weight is None else weight.to(dtype)


@register_metric("1-ssim")
def one_minus_ssim(pred: torch.Tensor, target: torch.Tensor,
                   weight: torch.Tensor | None = None) -> torch.Tensor:
    """``1 - SSIM`` per image."""
    p, t, w = _f64(pred, target, weight)
    return (1.0 - _ssim.ssim(p, t, w)).double()


@register_metric("1-ms_ssim")
def one_minus_ms_ssim(pred: torch.Tensor, target: torch.Tensor,
                      weight: torch.Tensor | None = None) -> torch.Tensor:
    """``1 - MS-SSIM`` per image."""
    p, t, w = _f64(pred, target, weight)
    return (1.0 - _ssim.ms_ssim(p, t, w)).double()


@register_metric("psnr")
def psnr(pred: torch.Tensor, target: torch.Tensor,
         weight: torch.Tensor | None = None) -> torch.Tensor:
    """PSNR in dB per image, peak 1."""
    mse = l2(pred, target, weight)
    return 10.0 * torch.log10(1.0 / mse)


@register_metric("l1")
def l1(pred: torch.Tensor, target: torch.Tensor,
       weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean absolute difference per image."""
    p, t, w = _f64(pred, target, weight)
    return _mean((p - t).abs(), w).double()


@register_metric("l2")
def l2(pred: torch.Tensor, target: torch.Tensor,
       weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean squared difference (MSE) per image."""
    p, t, w = _f64(pred, target, weight)
    return _mean((p - t) ** 2, w).double()


def image_metrics(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor
                  ) -> dict[str, dict[str, torch.Tensor]]:
    """Every metric of :data:`METRICS` in both :data:`REGIONS`:
    ``{metric: {"crop": (B,), "mask": (B,)}}``. ``mask``: ``(B, 1, H, W)`` in [0, 1]."""
    return {name: {"crop": fn(pred, target, None), "mask": fn(pred, target, mask)}
            for name, fn in METRICS.items()}


def summarise(values: torch.Tensor) -> dict[str, float]:
    """Mean, standard deviation, min and max of per-image figures (non-finite PSNR of
    identical images is left out of the mean and counted in ``exact``)."""
    v = values.double().flatten()
    finite = v[torch.isfinite(v)]
    if len(finite) == 0:
        return {"mean": float("inf"), "std": 0.0, "min": float("inf"), "max": float("inf"),
                "n": len(v), "exact": len(v)}
    return {"mean": float(finite.mean()), "std": float(finite.std(unbiased=False)),
            "min": float(finite.min()), "max": float(finite.max()), "n": len(v),
            "exact": int(len(v) - len(finite))}
