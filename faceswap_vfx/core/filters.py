"""Separable image filters on (B, C, H, W) tensors; device and dtype follow the input."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def check_image(image: torch.Tensor, name: str = "image") -> torch.Tensor:
    """Raise unless ``image`` is a floating (B, C, H, W) tensor; return it."""
    if not isinstance(image, torch.Tensor) or image.ndim != 4:
        raise ValueError(f"{name} must be a (B, C, H, W) tensor, got "
                         f"{getattr(image, 'shape', type(image))}")
    if not image.is_floating_point():
        raise ValueError(f"{name} must be floating point, got {image.dtype}")
    return image


def gaussian_kernel1d(sigma: float, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Normalised Gaussian taps, radius ceil(3 sigma) (at least 1)."""
    radius = max(1, math.ceil(3.0 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=dtype, device=device)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    return k / k.sum()


def gaussian_blur(image: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur, ``sigma`` in pixels, edges replicated; sigma <= 0 is a copy.

    image: (B, C, H, W) float. Returns the same shape, device and dtype.
    """
    check_image(image)
    if sigma <= 0:
        return image.clone()
    k = gaussian_kernel1d(sigma, image.dtype, image.device)
    r = (k.numel() - 1) // 2
    b, c, h, w = image.shape
    x = image.reshape(b * c, 1, h, w)
    x = F.conv2d(F.pad(x, (r, r, 0, 0), mode="replicate"), k.view(1, 1, 1, -1))
    x = F.conv2d(F.pad(x, (0, 0, r, r), mode="replicate"), k.view(1, 1, -1, 1))
    return x.reshape(b, c, h, w)
