"""The preview grid: what a person looks at to judge training.

Columns are the preview crops, identity by identity (the same crops all run long, not
augmented). Rows, top to bottom: the inputs; each crop reconstructed by its own identity's
head; then ``n - 1`` swap rows for ``n`` identities, row ``2 + k`` showing each crop of
identity ``i`` decoded as identity ``(i + k + 1) % n`` (with two identities: row 2 is A as B
and B as A). Cells are upscaled (nearest) to at least 64 px; values are the working colour
space (sRGB-like), written as an 8-bit PNG.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from faceswap_vfx.io.image import Image, write_image
from faceswap_vfx.model.comb import CombNetwork
from faceswap_vfx.train.dataset import TrainingData, resize_square

GAP = 2
"""Pixels between cells."""


def preview_inputs(data: TrainingData, per_identity: int) -> dict[str, torch.Tensor]:
    """Per identity, up to ``per_identity`` crops spread evenly over its dataset, float32
    ``(k, 3, R, R)`` at the working resolution."""
    out = {}
    for name, d in data.identities.items():
        k = min(per_identity, len(d))
        idx = torch.linspace(0, len(d) - 1, k).round().long()
        out[name] = d.crops[idx].float()
    return out


def preview_grid(model: CombNetwork, inputs: dict[str, torch.Tensor], alpha: float = 1.0,
                 min_cell: int = 64) -> np.ndarray:
    """The grid as float32 ``(H, W, 3)`` in [0, 1]; ``inputs`` as :func:`preview_inputs`
    (keys: identities of ``model``), resized to the model's current resolution."""
    names = list(inputs)
    r = model.resolution
    crops = {n: resize_square(x, r) for n, x in inputs.items()}
    rows = [torch.cat([crops[n] for n in names]),
            torch.cat([model.swap(crops[n], n, alpha=alpha) for n in names])]
    for k in range(len(names) - 1):
        rows.append(torch.cat([model.swap(crops[n], names[(i + k + 1) % len(names)],
                                          alpha=alpha) for i, n in enumerate(names)]))
    scale = max(1, -(-min_cell // r))
    cell = r * scale
    cols = rows[0].shape[0]
    grid = np.zeros((len(rows) * (cell + GAP) - GAP, cols * (cell + GAP) - GAP, 3), np.float32)
    for i, row in enumerate(rows):
        big = row.repeat_interleave(scale, 2).repeat_interleave(scale, 3)
        big = big.permute(0, 2, 3, 1).float().clamp(0, 1).cpu().numpy()
        for j in range(cols):
            y, x = i * (cell + GAP), j * (cell + GAP)
            grid[y:y + cell, x:x + cell] = big[j]
    return grid


def write_preview(grid: np.ndarray, path: str | Path) -> Path:
    """Write a grid from :func:`preview_grid` as an 8-bit PNG (atomically)."""
    write_image(Image.from_array(grid, dtype=np.uint8), path)
    return Path(path)
