"""SSIM and MS-SSIM with an optional per-pixel weight (a face mask), for the losses.

SSIM is Wang et al. 2004 with an 11-tap Gaussian window (sigma 1.5), K = (0.01, 0.03), the
window fully inside the image ("valid"), averaged over channels: the same numbers as
scikit-image's ``structural_similarity(gaussian_weights=True, sigma=1.5,
use_sample_covariance=False)`` and pytorch-msssim. MS-SSIM is Wang et al. 2003 with their five
scale weights and pytorch-msssim's 2x2 average pooling between scales.

Libraries return only image means; a mask needs the per-pixel maps, so they are computed
here (``tests/test_losses.py`` checks them against both libraries). Images smaller than the
window are handled, so the losses work at every level of the progressive network: the
window shrinks to the image (odd size, same sigma) and MS-SSIM uses only the scales at
which the window fits, with their weights renormalised to sum to 1.

Images are ``(B, C, H, W)`` with values in ``[0, data_range]``; weights ``(B, 1, H, W)``
are >= 0. Maths run in at least float32 with autocast off (variances cancel badly in half).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
WIN_SIZE = 11
WIN_SIGMA = 1.5
K1, K2 = 0.01, 0.03
_EPS = 1e-6  # floor on cs / ssim before fractional powers (pytorch-msssim uses relu)


def _window(size: int, like: torch.Tensor) -> torch.Tensor:
    """Normalised 1-D Gaussian of ``size`` taps, sigma :data:`WIN_SIGMA`."""
    coords = torch.arange(size, device=like.device, dtype=like.dtype) - size // 2
    g = torch.exp(-(coords**2) / (2 * WIN_SIGMA**2))
    return g / g.sum()


def _blur(x: torch.Tensor, win: torch.Tensor) -> torch.Tensor:
    """Separable valid Gaussian blur: ``(B, C, H, W) -> (B, C, H-n+1, W-n+1)``."""
    c, n = x.shape[1], win.numel()
    x = F.conv2d(x, win.view(1, 1, 1, n).expand(c, 1, 1, n), groups=c)
    return F.conv2d(x, win.view(1, 1, n, 1).expand(c, 1, n, 1), groups=c)


def window_size(height: int, width: int) -> int:
    """Window side for an image: :data:`WIN_SIZE`, or the largest odd size that fits."""
    side = min(WIN_SIZE, height, width)
    return side if side % 2 else side - 1


def ssim_maps(x: torch.Tensor, y: torch.Tensor, win_size: int,
              data_range: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-pixel SSIM and contrast-structure maps, each ``(B, C, H-n+1, W-n+1)``, n=win_size."""
    win = _window(win_size, x)
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    mu_x, mu_y = _blur(x, win), _blur(y, win)
    var_x = _blur(x * x, win) - mu_x**2
    var_y = _blur(y * y, win) - mu_y**2
    cov = _blur(x * y, win) - mu_x * mu_y
    cs = (2 * cov + c2) / (var_x + var_y + c2)
    return (2 * mu_x * mu_y + c1) / (mu_x**2 + mu_y**2 + c1) * cs, cs


def _weighted_mean(values: torch.Tensor, weight: torch.Tensor | None) -> torch.Tensor:
    """``(B, C, h, w)`` map -> ``(B, C)`` mean, weighted by the centre crop of ``weight``."""
    if weight is None:
        return values.flatten(2).mean(-1)
    top, left = (weight.shape[2] - values.shape[2]) // 2, (weight.shape[3] - values.shape[3]) // 2
    w = weight[:, :, top:top + values.shape[2], left:left + values.shape[3]]
    return (values * w).flatten(2).sum(-1) / w.flatten(2).sum(-1).clamp_min(1e-12)


def _check(x: torch.Tensor, y: torch.Tensor, weight: torch.Tensor | None) -> torch.dtype:
    if x.ndim != 4 or x.shape != y.shape:
        raise ValueError(f"images must be two (B, C, H, W) of one shape, got {tuple(x.shape)} "
                         f"and {tuple(y.shape)}")
    if weight is not None and (weight.ndim != 4 or weight.shape[1] != 1
                               or weight.shape[0] != x.shape[0] or weight.shape[2:] != x.shape[2:]):
        raise ValueError(f"weight must be (B, 1, H, W) = ({x.shape[0]}, 1, {x.shape[2]}, "
                         f"{x.shape[3]}), got {tuple(weight.shape)}")
    return torch.promote_types(x.dtype, torch.float32)


def ssim(x: torch.Tensor, y: torch.Tensor, weight: torch.Tensor | None = None,
         data_range: float = 1.0) -> torch.Tensor:
    """SSIM per image ``(B,)``: the (weighted) mean of the SSIM map over pixels and channels."""
    dtype = _check(x, y, weight)
    with torch.autocast(x.device.type, enabled=False):
        x, y = x.to(dtype), y.to(dtype)
        w = None if weight is None else weight.to(dtype)
        s, _ = ssim_maps(x, y, window_size(*x.shape[2:]), data_range)
        return _weighted_mean(s, w).mean(1)


def _pool(t: torch.Tensor) -> torch.Tensor:
    return F.avg_pool2d(t, 2, padding=[s % 2 for s in t.shape[2:]])


def ms_ssim_scales(height: int, width: int) -> int:
    """Number of MS-SSIM scales (1..5) at which the window fits an image of this size."""
    n, win = 1, window_size(height, width)
    while n < len(MS_SSIM_WEIGHTS):
        height, width = (height + 1) // 2, (width + 1) // 2
        if min(height, width) < win:
            break
        n += 1
    return n


def ms_ssim(x: torch.Tensor, y: torch.Tensor, weight: torch.Tensor | None = None,
            data_range: float = 1.0) -> torch.Tensor:
    """MS-SSIM per image ``(B,)``; ``weight`` is average-pooled along with the images."""
    dtype = _check(x, y, weight)
    with torch.autocast(x.device.type, enabled=False):
        x, y = x.to(dtype), y.to(dtype)
        w = None if weight is None else weight.to(dtype)
        scales = ms_ssim_scales(*x.shape[2:])
        powers = torch.tensor(MS_SSIM_WEIGHTS[:scales], dtype=dtype, device=x.device)
        powers = powers / powers.sum()
        win, factors = window_size(*x.shape[2:]), []
        for i in range(scales):
            s, cs = ssim_maps(x, y, win, data_range)
            if i < scales - 1:
                factors.append(_weighted_mean(cs, w))
                x, y = _pool(x), _pool(y)
                w = None if w is None else _pool(w)
        factors.append(_weighted_mean(s, w))
        stacked = torch.stack(factors).clamp_min(_EPS)  # (scales, B, C)
        return torch.prod(stacked ** powers.view(-1, 1, 1), dim=0).mean(1)
