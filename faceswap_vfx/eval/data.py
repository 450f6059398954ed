"""Groups of aligned face crops to evaluate: a dataset folder or a plain folder of crops.

A dataset folder (``manifest.json``, see :mod:`faceswap_vfx.train.manifest`) brings its
masks. A folder of image files (EXR, PNG, JPEG, TIFF), or a single file, is taken as
aligned crops in the working colour space (EXR values as stored, 8-bit files as their
encoded values / 255) and gets the template face mask: the outer landmark polygon of
:data:`~faceswap_vfx.core.template.TEMPLATE_68` placed with ``crop_margin`` (what an
aligned crop of ``faceswap-vfx extract`` holds). Everything is resized (antialiased box
filter) to the network's resolution.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from faceswap_vfx import params as schema
from faceswap_vfx.core.geometry import apply, crop_from_template
from faceswap_vfx.core.mask import face_polygon, polygon_mask
from faceswap_vfx.core.template import TEMPLATE_68
from faceswap_vfx.errors import DatasetError, FaceswapError, ParameterError
from faceswap_vfx.io.image import read_image
from faceswap_vfx.train.dataset import load_identity, resize_square
from faceswap_vfx.train.manifest import MANIFEST, read_manifest

IMAGE_SUFFIXES = (".exr", ".png", ".jpg", ".jpeg", ".tif", ".tiff")


@dataclass
class Crops:
    """``images`` float32 ``(N, 3, R, R)`` in [0, 1], ``masks`` float32 ``(N, 1, R, R)``
    in [0, 1], one ``label`` per image (file stem), and where they came from."""

    name: str
    images: torch.Tensor
    masks: torch.Tensor
    labels: list[str]
    source: Path
    template_masks: bool = False

    def __len__(self) -> int:
        return len(self.images)

    def take(self, n: int | None) -> Crops:
        """The first ``n`` (all when ``n`` is None or larger), evenly spread over the set."""
        if n is None or n >= len(self):
            return self
        idx = np.linspace(0, len(self) - 1, n).round().astype(int)
        return Crops(self.name, self.images[idx], self.masks[idx],
                     [self.labels[i] for i in idx], self.source, self.template_masks)


def template_mask(size: int, margin: float | None = None) -> torch.Tensor:
    """``(1, size, size)`` float32: the face polygon of the template in an aligned crop."""
    margin = schema.PARAMS["crop_margin"].default if margin is None else margin
    landmarks = apply(crop_from_template(size, margin), TEMPLATE_68)
    return torch.from_numpy(polygon_mask(face_polygon(landmarks), (size, size)))[None]


def image_files(folder: Path) -> list[Path]:
    """Image files of a folder (not recursive), sorted by name."""
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                  and not p.name.startswith("."))


def _read_crop(path: Path) -> torch.Tensor:
    try:
        part = read_image(path).part
        rgb = part.rgb(path=str(path)) if "R" in part.channels else None
    except FaceswapError as exc:
        raise DatasetError(f"cannot read an aligned crop: {exc}", path=path) from None
    if rgb is None:  # one-channel image: grey
        first = next(iter(part.channels.values()))
        rgb = np.repeat(first[..., None], 3, -1)
    a = np.asarray(rgb)
    if a.dtype.kind == "u":
        a = a.astype(np.float32) / np.iinfo(a.dtype).max
    if a.shape[0] != a.shape[1]:
        raise DatasetError(f"an aligned crop must be square, this one is {a.shape[1]}x"
                           f"{a.shape[0]}", path=path)
    a = np.nan_to_num(a.astype(np.float32), nan=0.0).clip(0.0, 1.0)
    return torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1)


def load_crops(source: str | Path, resolution: int, name: str = "",
               limit: int | None = None) -> Crops:
    """Aligned crops of ``source`` (a dataset folder, a folder of crops or one crop file)
    at ``resolution`` px; ``limit``: at most this many, spread evenly over the set.

    Raises :class:`DatasetError` naming the folder when there is nothing to read.
    """
    source = Path(source)
    if (source / MANIFEST).is_file():
        manifest = read_manifest(source)
        if limit is not None and limit < len(manifest.items):
            idx = np.linspace(0, len(manifest.items) - 1, limit).round().astype(int)
            manifest = type(manifest)(manifest.folder, manifest.identity, manifest.resolution,
                                      manifest.colorspace,
                                      tuple(manifest.items[i] for i in idx), manifest.skipped)
        data = load_identity(name or manifest.identity, [manifest], resolution, workers=2)
        return Crops(name or manifest.identity, data.crops.float(), data.masks.float() / 255.0,
                     [it.image.stem for it in manifest.items], source)
    if source.is_dir():
        files = image_files(source)
    elif source.is_file():
        files = [source]
    else:
        raise DatasetError("no dataset, folder of crops or crop file here", path=source)
    if not files:
        raise DatasetError(f"no aligned crops ({', '.join(IMAGE_SUFFIXES)}) in the folder",
                           path=source)
    if limit is not None and limit < len(files):
        files = [files[i] for i in np.linspace(0, len(files) - 1, limit).round().astype(int)]
    images = []
    for f in files:
        crop = _read_crop(f)
        if crop.shape[-1] < resolution:
            raise DatasetError(f"crop is {crop.shape[-1]} px; the network needs at least "
                               f"{resolution} px", path=f)
        images.append(resize_square(crop[None], resolution)[0])
    masks = template_mask(resolution)[None].expand(len(images), 1, -1, -1).clone()
    return Crops(name or (source.stem if source.is_file() else source.name),
                 torch.stack(images), masks, [f.stem for f in files], source,
                 template_masks=True)


def parse_named(values: Sequence[str] | None, what: str) -> list[tuple[str, Path]]:
    """``NAME=PATH`` strings -> ``(name, path)`` pairs; :class:`ParameterError` for a
    malformed one."""
    out = []
    for v in values or ():
        name, sep, path = v.partition("=")
        if not sep or not name or not path:
            raise ParameterError(f"{what} {v!r} is not NAME=PATH")
        out.append((name, Path(path)))
    return out
