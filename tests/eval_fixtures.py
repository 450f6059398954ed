"""Tiny runs, datasets and rendered sequences for the evaluation tests (fast on 2 CPU cores)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from faceswap_vfx.core.geometry import apply, crop_from_template
from faceswap_vfx.core.mask import face_polygon, polygon_mask
from faceswap_vfx.core.template import TEMPLATE_68
from faceswap_vfx.io.image import Box, Image, write_image
from faceswap_vfx.model.comb import CombNetwork
from faceswap_vfx.model.config import CombConfig
from faceswap_vfx.train import checkpoint as ck
from faceswap_vfx.train.config import TrainConfig
from faceswap_vfx.train.manifest import write_dataset

TINY = CombConfig(max_resolution=16, width=1 / 32, latent=16)
IDS = ("alice", "bob")


def tiny_network(seed: int = 0) -> CombNetwork:
    torch.manual_seed(seed)
    return CombNetwork(TINY, IDS, level=TINY.max_level)


def tiny_run(folder: Path, seed: int = 0) -> Path:
    """A run folder with one checkpoint of an untrained 16 px two-identity network."""
    model = tiny_network(seed)
    c = ck.Checkpoint(TINY, TrainConfig(), IDS, "srgb_tx", model.level, 1.0, 100, 1,
                      model.state_dict())
    ck.save_checkpoint(c, ck.checkpoint_path(folder, c.images_seen))
    return folder


def smooth_images(n: int, size: int, seed: int) -> torch.Tensor:
    """``(n, 3, size, size)`` smooth random images in [0.1, 0.9]."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(n, 3, 4, 4, generator=g)
    return 0.1 + 0.8 * F.interpolate(low, size=size, mode="bilinear", align_corners=False)


def template_landmarks(size: int) -> np.ndarray:
    return apply(crop_from_template(size, 0.35), TEMPLATE_68)


def tiny_dataset(folder: Path, identity: str, n: int, size: int = 32, seed: int = 0) -> Path:
    """A dataset of ``n`` smooth random crops with the template's landmarks and mask."""
    lms = template_landmarks(size)
    mask = polygon_mask(face_polygon(lms), (size, size))
    crops = smooth_images(n, size, seed).permute(0, 2, 3, 1).numpy()
    write_dataset(folder, identity, crops, np.repeat(mask[None], n, 0),
                  np.repeat(lms[None], n, 0), "srgb_tx")
    return folder


def write_sequence(folder: Path, frames: list[int], plate: list[np.ndarray],
                   render: list[np.ndarray], masks: list[np.ndarray]) -> tuple[str, str]:
    """Plate and render EXR sequences (render with a ``faceswap.mask`` channel, data window
    inset in the display window); RGB given as (H, W, 3) float in srgb_tx."""
    h, w = plate[0].shape[:2]
    for f, p, r, m in zip(frames, plate, render, masks, strict=True):
        for name, rgb in (("plate", p), ("render", r)):
            chans = {"R": rgb[..., 0], "G": rgb[..., 1], "B": rgb[..., 2]}
            if name == "render":
                chans["faceswap.mask"] = m
            image = Image.from_array(np.stack(list(chans.values()), -1), tuple(chans),
                                     dtype=np.float16)
            image.part.data_window = Box(3, 2, w, h)
            image.part.display_window = Box(0, 0, w + 6, h + 4)
            write_image(image, folder / name / f"{name}.{f}.exr", f)
    return str(folder / "render" / "render.####.exr"), str(folder / "plate" / "plate.####.exr")
