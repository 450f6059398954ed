"""Specular highlights under the multi-band blend: how far a plate's highlights spread.

    python bench/specular_bloom.py OUT

A plate region with smooth light, three Gaussian speculars (peaks 12, 40 and 300) and one
hot pixel (65504), a new face over it under a soft mask. Each blend (in the scene-linear and
the compositing-log blend spaces, with the highlights taken out of the pyramid as the render
does, and without, the blend before) is compared with the same blend of the plate without
the highlights: the "bloom" is what the highlights change. Prints pixels above 10 and the
pixels the highlights change by more than 1 % and 10 %, and writes OUT/specular_bloom.png
(rows: the plate, then each blend; tone-mapped ``x / (1 + x)``).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import torch

from faceswap_vfx.core import composite
from faceswap_vfx.core.mask import soft_mask
from faceswap_vfx.io.colour import convert
from faceswap_vfx.io.image import Image, write_image

SIZE = 256


def plate() -> tuple[np.ndarray, np.ndarray]:
    """(clean, lit) (H, W, 3) float32 scene-linear: the plate without and with highlights."""
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    clean = (0.18 + 0.05 * np.sin(xx / 9.0))[..., None] * np.array([1.1, 1.0, 0.9], np.float32)
    lit = clean.copy()
    for cy, cx, peak in ((100, 90, 40.0), (100, 160, 300.0), (170, 128, 12.0)):
        lit += (peak * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * 1.2**2)))[..., None]
    lit[140, 140] = 65504.0
    return clean, lit.astype(np.float32)


def blend(target: np.ndarray, source: np.ndarray, alpha: np.ndarray, space: str) -> np.ndarray:
    to = lambda a: torch.from_numpy(np.ascontiguousarray(  # noqa: E731
        convert(a, "scene_linear", space))).permute(2, 0, 1)[None]
    out = composite.blend_under(to(target), to(source),
                                torch.from_numpy(alpha)[None, None], plate_levels=2,
                                mask_sigma=2.0)
    return convert(out[0].permute(1, 2, 0).numpy(), space, "scene_linear")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("out", nargs="?", default="specular_run")
    args = p.parse_args()
    out = Path(args.out)
    clean, lit = plate()
    yy, _ = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    source = (0.12 + 0.04 * np.cos(yy / 7.0))[..., None] * np.ones(3, np.float32)
    hard = np.zeros((SIZE, SIZE), np.float32)
    hard[40:216, 40:216] = 1.0
    alpha = soft_mask(hard, 4.0)
    rows, default = [lit], composite.HIGHLIGHT_FACTOR
    print("| blend space | highlights | px above 10 | bloom px > 1 % | bloom px > 10 % | "
          "largest bloom |")
    print("|---|---|---|---|---|---|")
    for space in ("scene_linear", "compositing_log"):
        for label, factor in (("out of the pyramid", default), ("in the pyramid", math.inf)):
            composite.HIGHLIGHT_FACTOR = factor
            try:
                with_them = blend(lit, source, alpha, space)
                without = blend(clean, source, alpha, space)
            finally:
                composite.HIGHLIGHT_FACTOR = default
            bloom = np.abs(with_them - without).max(-1) / np.maximum(without.max(-1), 1e-3)
            bloom[lit.max(-1) > clean.max(-1) * 1.01] = 0  # the highlights' own pixels
            rows.append(with_them)
            print(f"| {space} | {label} | {(with_them.max(-1) > 10).sum()} | "
                  f"{(bloom > 0.01).sum()} | {(bloom > 0.1).sum()} | {bloom.max():.1%} |")
    sheet = np.concatenate([r / (1 + r) for r in rows], axis=1)
    write_image(Image.from_array(sheet, dtype=np.uint8), out / "specular_bloom.png")
    print(f"\n{out / 'specular_bloom.png'}: plate, then the rows above in order, left to right")


if __name__ == "__main__":
    main()
