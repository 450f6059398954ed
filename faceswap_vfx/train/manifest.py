"""The dataset folder format: a manifest of aligned face crops, their masks and landmarks.

``DATASET/manifest.json``::

    {"format": "faceswap_vfx.dataset", "version": 1, "identity": NAME, "resolution": R,
     "colorspace": WORKING_COLOUR_SPACE,
     "items": [{"image": "crops/<stem>.exr", "mask": "masks/<stem>.png",
                "landmarks": [[x, y] * 68], "source": {...}}, ...],
     "skipped": [...]}

Crops are R x R half-float EXR RGB in the network's working colour space (values about
[0, 1]); masks are R x R 8-bit single-channel PNG (255: face). Landmarks are crop pixels
(x right, y down, pixel centres at +0.5). Paths are relative to the folder. :func:`read_manifest`
checks all of it; :func:`write_dataset` is the reference writer (tests and benches use it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from faceswap_vfx.errors import DatasetError
from faceswap_vfx.io.atomic import atomic_write_text
from faceswap_vfx.io.image import Image, write_image
from faceswap_vfx.io.versioned import check_version

DATASET_FORMAT = "faceswap_vfx.dataset"
DATASET_VERSION = 1
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class DatasetItem:
    """One crop: absolute ``image`` and ``mask`` paths, (68, 2) crop-px ``landmarks``."""

    image: Path
    mask: Path
    landmarks: np.ndarray
    source: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Manifest:
    """A dataset folder's manifest, checked: at least one item, every file present."""

    folder: Path
    identity: str
    resolution: int
    colorspace: str
    items: tuple[DatasetItem, ...]
    skipped: tuple[Any, ...] = ()


def _inside(folder: Path, rel: Any, what: str, path: Path) -> Path:
    if not isinstance(rel, str) or not rel or Path(rel).is_absolute():
        raise DatasetError(f"{what} path {rel!r} is not a relative path", path=path)
    full = (folder / rel).resolve()
    if folder.resolve() not in full.parents:
        raise DatasetError(f"{what} path {rel!r} leaves the dataset folder", path=path)
    if not full.is_file():
        raise DatasetError(f"{what} listed in the manifest is missing", path=full)
    return full


def read_manifest(folder: str | Path) -> Manifest:
    """Read and check ``folder/manifest.json``.

    Raises :class:`DatasetError` naming the file for: a missing folder or manifest, bad
    JSON, another format, a newer version, a bad field, no items, a missing crop or mask.
    """
    folder = Path(folder)
    path = folder / MANIFEST
    if not folder.is_dir():
        raise DatasetError("dataset folder not found", path=folder)
    try:
        body = json.loads(path.read_text())
    except FileNotFoundError:
        raise DatasetError("no manifest.json: not a dataset folder", path=path) from None
    except (OSError, ValueError) as exc:
        raise DatasetError(f"cannot read the manifest: {exc}", path=path) from None
    check_version(body, path, fmt=DATASET_FORMAT, version=DATASET_VERSION,
                  kind=f"a {DATASET_FORMAT} manifest", error=DatasetError)
    identity, r, space = body.get("identity"), body.get("resolution"), body.get("colorspace")
    if not isinstance(identity, str) or not identity or "." in identity:
        raise DatasetError(f"identity {identity!r} is empty, not text or has a '.'", path=path)
    if not isinstance(r, int) or isinstance(r, bool) or r < 4 or r & (r - 1):
        raise DatasetError(f"resolution {r!r} is not a power of two >= 4", path=path)
    if not isinstance(space, str) or not space:
        raise DatasetError(f"colorspace {space!r} is not a colour space name", path=path)
    items = body.get("items")
    if not isinstance(items, list) or not items:
        raise DatasetError("the dataset has no items", path=path)
    parsed = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise DatasetError(f"item {i} is not an object", path=path)
        lm = np.asarray(item.get("landmarks"), dtype=object)
        try:
            lm = lm.astype(np.float64)
        except (TypeError, ValueError):
            lm = np.zeros(0)
        if lm.shape != (68, 2) or not np.all(np.isfinite(lm)):
            raise DatasetError(f"item {i} landmarks are not 68 finite (x, y) pairs", path=path)
        parsed.append(DatasetItem(_inside(folder, item.get("image"), f"item {i} image", path),
                                  _inside(folder, item.get("mask"), f"item {i} mask", path),
                                  lm, dict(item.get("source") or {})))
    return Manifest(folder, identity, r, space, tuple(parsed), tuple(body.get("skipped") or ()))


def write_dataset(folder: str | Path, identity: str, crops: np.ndarray, masks: np.ndarray,
                  landmarks: np.ndarray, colorspace: str,
                  sources: Sequence[Mapping[str, Any]] | None = None) -> Path:
    """Write a dataset folder; returns the manifest's path.

    ``crops``: (N, R, R, 3) float in the working colour space, stored as half EXR.
    ``masks``: (N, R, R) float in [0, 1], stored as 8-bit PNG. ``landmarks``: (N, 68, 2)
    crop px. ``sources``: one JSON-able dict per item (e.g. plate and frame).
    """
    crops, masks, landmarks = np.asarray(crops), np.asarray(masks), np.asarray(landmarks)
    n, r = len(crops), crops.shape[1] if crops.ndim == 4 else 0
    if crops.shape != (n, r, r, 3) or masks.shape != (n, r, r) or landmarks.shape != (n, 68, 2):
        raise ValueError(f"expected crops (N, R, R, 3), masks (N, R, R), landmarks (N, 68, 2); "
                         f"got {crops.shape}, {masks.shape}, {landmarks.shape}")
    folder = Path(folder)
    items = []
    for i in range(n):
        stem = f"{i:06d}"
        write_image(Image.from_array(crops[i], dtype=np.float16), folder / "crops" / f"{stem}.exr")
        write_image(Image.from_array(masks[i], ("Y",), dtype=np.uint8),
                    folder / "masks" / f"{stem}.png")
        items.append({"image": f"crops/{stem}.exr", "mask": f"masks/{stem}.png",
                      "landmarks": np.round(landmarks[i], 4).tolist(),
                      "source": dict(sources[i]) if sources else {}})
    body = {"format": DATASET_FORMAT, "version": DATASET_VERSION, "identity": identity,
            "resolution": int(r), "colorspace": colorspace, "items": items, "skipped": []}
    atomic_write_text(folder / MANIFEST, json.dumps(body, indent=1) + "\n")
    return folder / MANIFEST
