"""Small training datasets made from the bundled portraits, in the dataset folder format.

Each item is the portrait's face aligned as extraction would (the similarity was measured
once with dlib's landmarks, margin 0.35), jittered a little so items differ; landmarks are
the template's, moved by the jitter; masks are the landmark polygon.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from faceswap_vfx.core.geometry import apply, crop_from_template
from faceswap_vfx.core.mask import face_polygon, polygon_mask
from faceswap_vfx.core.template import TEMPLATE_68
from faceswap_vfx.core.warp import warp_affine
from faceswap_vfx.samples import portraits
from faceswap_vfx.train.manifest import write_dataset

MARGIN = 0.35
# crop_from_plate(landmarks, size=1, margin=0.35) of each portrait's face (face.find_faces)
UNIT_CROP_FROM_PLATE = {
    "astronaut": np.array([[5.363e-03, 2.96e-04, -0.741157], [-2.96e-04, 5.363e-03, -0.057784],
                           [0.0, 0.0, 1.0]]),
    "grace_hopper": np.array([[2.785e-03, -1.12e-04, -0.214961],
                              [1.12e-04, 2.785e-03, -0.138944], [0.0, 0.0, 1.0]]),
}


def portrait_items(name: str, n: int, size: int, seed: int = 0
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` jittered aligned crops of a portrait: crops (n, size, size, 3) float32,
    masks (n, size, size) float32, landmarks (n, 68, 2) crop px."""
    rng = np.random.default_rng(seed)
    image = torch.from_numpy(np.array(portraits.portrait(name))).permute(2, 0, 1)
    base = np.diag([size, size, 1.0]) @ UNIT_CROP_FROM_PLATE[name]
    template = apply(crop_from_template(size, MARGIN), TEMPLATE_68)
    mats, lms = [], []
    for _ in range(n):
        a, s = np.deg2rad(rng.uniform(-4, 4)), np.exp(rng.uniform(-0.04, 0.04))
        t = rng.uniform(-0.03, 0.03, 2) * size
        c = size / 2
        jitter = np.array([[s * np.cos(a), -s * np.sin(a), 0], [s * np.sin(a), s * np.cos(a), 0],
                           [0, 0, 1.0]])
        jitter[:2, 2] = c + t - jitter[:2, :2] @ [c, c]
        mats.append(jitter @ base)
        lms.append(apply(jitter, template))
    crops = warp_affine(image[None].expand(n, -1, -1, -1), np.stack(mats), (size, size),
                        mode="bilinear", padding="border")
    crops = crops.permute(0, 2, 3, 1).numpy() * rng.uniform(0.9, 1.1, (n, 1, 1, 1))
    masks = np.stack([polygon_mask(face_polygon(lm), (size, size)) for lm in lms])
    return crops.clip(0, 1).astype(np.float32), masks, np.stack(lms)


def portrait_dataset(folder: str | Path, name: str, n: int, size: int, seed: int = 0,
                     identity: str | None = None) -> Path:
    """Write a dataset folder of :func:`portrait_items`; returns the folder."""
    crops, masks, lms = portrait_items(name, n, size, seed)
    write_dataset(folder, identity or name, crops, masks, lms, "srgb_tx",
                  [{"portrait": name, "item": i} for i in range(n)])
    return Path(folder)
