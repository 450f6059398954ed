"""Training data: every identity's crops and masks, cached in memory as tensors.

Crops are cached once at the network's working resolution (``CombConfig.max_resolution``;
datasets with larger crops are box-filtered down at load), as float16 ``(N, 3, R, R)`` in
[0, 1] (the EXR's half values, clamped; NaN -> 0), masks as uint8 ``(N, 1, R, R)``. Each
level's smaller copy is made on demand by :func:`resize_square` (box filter: the same 2x2
averages the network's fade-in uses), stored as float16, and kept until the level changes;
batches come out as float32.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from faceswap_vfx.errors import DatasetError, FaceswapError
from faceswap_vfx.io.image import read_image
from faceswap_vfx.train.manifest import DatasetItem, Manifest, read_manifest

log = logging.getLogger(__name__)


def resize_square(images: torch.Tensor, size: int) -> torch.Tensor:
    """Resize ``(B, C, R, R)`` float images to ``(B, C, size, size)``, antialiased.

    Integer downscales average ``k x k`` boxes; other factors use antialiased bilinear.
    """
    r = images.shape[-1]
    if images.ndim != 4 or images.shape[-2] != r or not images.is_floating_point():
        raise ValueError(f"images must be float (B, C, R, R), got {tuple(images.shape)}")
    if size == r:
        return images
    if r % size == 0:
        return F.avg_pool2d(images, r // size)
    return F.interpolate(images, size=(size, size), mode="bilinear", antialias=True,
                         align_corners=False)


@dataclass
class IdentityData:
    """One identity's cache: ``crops`` float16 (N, 3, R, R), ``masks`` uint8 (N, 1, R, R),
    ``landmarks`` float32 (N, 68, 2) in cache px, and the dataset folders it came from."""

    name: str
    crops: torch.Tensor
    masks: torch.Tensor
    landmarks: torch.Tensor
    folders: tuple[Path, ...]

    def __len__(self) -> int:
        return len(self.crops)


def _load_item(item: DatasetItem, r: int, resolution: int) -> tuple[torch.Tensor, torch.Tensor]:
    try:
        rgb = read_image(item.image).part.rgb(path=str(item.image))
        mask_part = read_image(item.mask).part
    except FaceswapError as exc:
        raise DatasetError(f"cannot read a dataset file: {exc}", path=exc.path) from None
    if rgb.shape != (r, r, 3):
        raise DatasetError(f"crop is {rgb.shape[1]}x{rgb.shape[0]}, the manifest says {r}x{r}",
                           path=item.image)
    mask = next(iter(mask_part.channels.values()))
    if mask.shape != (r, r):
        raise DatasetError(f"mask is {mask.shape[1]}x{mask.shape[0]}, the manifest says {r}x{r}",
                           path=item.mask)
    if mask.dtype.kind == "u":
        mask = mask.astype(np.float32) / np.iinfo(mask.dtype).max
    crop = torch.from_numpy(np.nan_to_num(rgb, nan=0.0).clip(0.0, 1.0)).permute(2, 0, 1)
    m = torch.from_numpy(np.asarray(mask, np.float32).clip(0.0, 1.0))[None]
    both = resize_square(torch.cat([crop, m])[None], resolution)[0]
    return both[:3].half(), (both[3:] * 255.0).round().to(torch.uint8)


def load_identity(name: str, manifests: Sequence[Manifest], resolution: int,
                  workers: int = 4) -> IdentityData:
    """Read every crop and mask of ``manifests`` (all of one identity) at ``resolution``."""
    items = [(m, it) for m in manifests for it in m.items]
    for m in manifests:
        if m.resolution < resolution:
            raise DatasetError(f"crops are {m.resolution} px; the network needs at least "
                               f"{resolution} px", path=m.folder / "manifest.json")
    with ThreadPoolExecutor(max(1, workers)) as pool:
        loaded = list(pool.map(lambda mi: _load_item(mi[1], mi[0].resolution, resolution),
                               items))
    landmarks = np.stack([it.landmarks * (resolution / m.resolution) for m, it in items])
    return IdentityData(name, torch.stack([c for c, _ in loaded]),
                        torch.stack([k for _, k in loaded]),
                        torch.from_numpy(landmarks.astype(np.float32)),
                        tuple(m.folder for m in manifests))


class TrainingData:
    """The crops of every identity of a run, with balanced batches at any level.

    ``data``: ``(identity, dataset folder)`` pairs; folders of one identity are joined.
    ``resolution``: the working resolution (the network's ``max_resolution``). Every
    dataset must share one colour space (:attr:`colorspace`).
    """

    def __init__(self, data: Sequence[tuple[str, str | Path]], resolution: int,
                 workers: int = 4):
        if not data:
            raise DatasetError("no dataset given")
        manifests: dict[str, list[Manifest]] = {}
        for name, folder in data:
            manifests.setdefault(name, []).append(read_manifest(folder))
        spaces = {m.colorspace: m.folder for ms in manifests.values() for m in ms}
        if len(spaces) > 1:
            first, *rest = spaces.items()
            raise DatasetError(f"datasets are in different colour spaces ({first[0]} in "
                               f"{first[1]}, {rest[0][0]} here)", path=rest[0][1])
        self.colorspace = next(iter(spaces))
        self.resolution = resolution
        for name, ms in manifests.items():
            for m in ms:
                if m.identity != name:
                    log.info("dataset %s holds %r; training it as identity %r",
                             m.folder, m.identity, name)
        self.identities = {name: load_identity(name, ms, resolution, workers)
                           for name, ms in manifests.items()}
        self._level_cache: tuple[int, dict[str, tuple[torch.Tensor, torch.Tensor]]] | None = None
        for d in self.identities.values():
            log.info("identity %s: %d crops at %d px from %s", d.name, len(d), resolution,
                     ", ".join(map(str, d.folders)))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.identities)

    @property
    def sizes(self) -> tuple[int, ...]:
        """Crops per identity, in :attr:`names` order."""
        return tuple(len(d) for d in self.identities.values())

    def _at(self, name: str, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """float16 crops and masks of ``name`` at ``size`` (made in chunks, then cached)."""
        if self._level_cache is None or self._level_cache[0] != size:
            self._level_cache = (size, {})
        cache = self._level_cache[1]
        if name not in cache:
            d = self.identities[name]
            crops, masks = [], []
            for c, m in zip(d.crops.split(256), d.masks.split(256), strict=True):
                small = resize_square(torch.cat([c.float(), m.float() / 255.0], 1), size)
                crops.append(small[:, :3].half())
                masks.append(small[:, 3:].half())
            cache[name] = (torch.cat(crops), torch.cat(masks))
        return cache[name]

    def batch(self, name: str, indices: torch.Tensor, size: int
              ) -> tuple[torch.Tensor, torch.Tensor]:
        """Crops ``(B, 3, size, size)`` and masks ``(B, 1, size, size)``, float32 in [0, 1]
        on the CPU, of identity ``name`` at ``indices`` (int64 ``(B,)``)."""
        crops, masks = self._at(name, size)
        return crops[indices].float(), masks[indices].float()
