"""Dataset extraction: aligned face crops, masks, landmarks and a manifest for training.

The dataset format is a contract with the training code::

    DATASET/manifest.json   {"format": "faceswap_vfx.dataset", "version": 1,
                             "identity", "resolution", "colorspace", "items", "skipped"}
    DATASET/crops/<stem>.exr   half RGB, the working colour space, resolution^2
    DATASET/masks/<stem>.png   8-bit one channel: the outer-landmark polygon (jaw, brows)
    DATASET/contact_sheet.png  thumbnails with landmarks, for people

Sources are a plate sequence (aligned with tracking and smoothing, or from an alignment
file) or a folder of photos (each on its own). Only detected faces become items;
frames without one are listed in ``skipped``.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from faceswap_vfx import params as schema
from faceswap_vfx.core.geometry import apply, invert, plate_from_crop
from faceswap_vfx.core.mask import face_polygon, polygon_mask
from faceswap_vfx.core.warp import warp_affine
from faceswap_vfx.errors import DatasetError, NoFramesError
from faceswap_vfx.face.align_file import Alignment, dumps
from faceswap_vfx.face.find import find_faces
from faceswap_vfx.face.pipeline import align_sequence, detector_view, part_pixels
from faceswap_vfx.face.track import DETECTED
from faceswap_vfx.io.atomic import atomic_write_text, ensure_writable_dir
from faceswap_vfx.io.colour import convert
from faceswap_vfx.io.image import Image, read_image, write_image
from faceswap_vfx.io.output_guard import check_outside
from faceswap_vfx.io.sequence import ImageSequence

DATASET_FORMAT = "faceswap_vfx.dataset"
DATASET_VERSION = 1
PHOTO_SUFFIXES = (".exr", ".png", ".jpg", ".jpeg", ".tif", ".tiff")
SHEET_THUMB, SHEET_MAX = 128, 100  # contact sheet: thumbnail side px, most items shown

Progress = Callable[[int, int], None]


@dataclass
class Found:
    """One face to crop: its source file, frame (None for photos), landmarks (68, 2)
    plate px, and the stem of its dataset files."""

    path: Path
    frame: int | None
    landmarks: np.ndarray
    stem: str


def crop_face(rgb: np.ndarray, plate_from_crop_m: np.ndarray, size: int) -> np.ndarray:
    """The aligned crop (size, size, 3) float32 of float (H, W, 3) pixels: Keys bicubic,
    antialiased where the crop is smaller than the face in the plate."""
    image = torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).permute(2, 0, 1)[None]
    out = warp_affine(image, invert(plate_from_crop_m), (size, size), mode="bicubic")
    return out[0].permute(1, 2, 0).numpy()


def face_mask(landmarks_crop: np.ndarray, size: int) -> np.ndarray:
    """(size, size) uint8 0/255: the polygon of the outer landmarks (jaw line and brows)."""
    return (polygon_mask(face_polygon(landmarks_crop), (size, size)) * 255).astype(np.uint8)


def _unique(stem: str, used: set[str]) -> str:
    out, k = stem, 2
    while out in used:
        out, k = f"{stem}_{k}", k + 1
    used.add(out)
    return out


def _from_plates(seq: ImageSequence, params: dict[str, Any], alignment: Alignment | None,
                 progress: Progress | None) -> tuple[list[Found], list[dict[str, Any]]]:
    if alignment is None:
        alignment = align_sequence(seq, params, progress)
    else:  # an alignment file holds the tracks align kept: --track picks among them
        alignment.check_plate(_display_size(seq))
    tracks = set(alignment.select_tracks(params["track"])) if alignment.track_ids else set()
    base = Path(seq.pattern.prefix).name.rstrip("._-") or "frame"
    several = len(tracks) > 1
    found, skipped, used = [], [], set()
    for frame in seq.frames:
        entries = [e for e in alignment.faces.get(frame, [])
                   if e.flag == DETECTED and e.track in tracks]
        path = seq.path(frame).resolve()
        if not entries:
            flags = {e.flag for e in alignment.faces.get(frame, [])}
            reason = ("not in the alignment file" if frame not in alignment.faces else
                      "interpolated" if "interpolated" in flags else "no face")
            skipped.append({"source": str(path), "frame": frame, "reason": reason})
        for e in entries:
            stem = f"{base}_{frame}" + (f"_t{e.track}" if several else "")
            found.append(Found(path, frame, e.landmarks, _unique(stem, used)))
    return found, skipped


def _from_photos(files: list[Path], params: dict[str, Any], photo_colorspace: str,
                 progress: Progress | None) -> tuple[list[Found], list[dict[str, Any]]]:
    found, skipped, used = [], [], set()
    for k, path in enumerate(files):
        rgb, space = part_pixels(read_image(path).parts[0], params, photo_colorspace)
        faces = find_faces(detector_view(rgb, params, space), params["detector"],
                           params["detector_upsample"], params["landmark_model"] or None,
                           params["refine_jitter"])
        faces.sort(key=lambda f: -f.size)
        if params["track"] != "all":
            faces = faces[:1]
        if not faces:
            skipped.append({"source": str(path.resolve()), "frame": None, "reason": "no face"})
        for i, face in enumerate(faces):
            stem = path.stem + (f"_f{i}" if len(faces) > 1 else "")
            found.append(Found(path.resolve(), None, face.landmarks, _unique(stem, used)))
        if progress is not None:
            progress(k + 1, len(files))
    return found, skipped


def photo_files(folder: Path) -> list[Path]:
    """Image files directly in ``folder``, sorted by name."""
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES)


def _existing(out: Path, identity: str, size: int, colorspace: str) -> dict[str, Any] | None:
    """The manifest already in ``out``, if any, after checking that new crops can join it
    (same identity, resolution and colour space)."""
    manifest = out / "manifest.json"
    if not manifest.is_file():
        return None
    try:
        old = json.loads(manifest.read_text())
        items, skipped = list(old["items"]), list(old.get("skipped", []))
    except (OSError, ValueError, KeyError, TypeError):
        raise DatasetError("existing manifest is unreadable; remove the folder or choose "
                           "another", path=manifest) from None
    for key, want in (("identity", identity), ("resolution", size),
                      ("colorspace", colorspace)):
        if old.get(key) != want:
            raise DatasetError(f"dataset already holds {key} {old.get(key)!r}, not {want!r}: "
                               f"new crops cannot join it; extract into another folder",
                               path=manifest)
    return {**old, "items": items, "skipped": skipped}


def extract_dataset(source: str | Path, out: str | Path, identity: str, resolution: int,
                    params: dict[str, Any] | None = None, *, frames: str | None = None,
                    alignment: Alignment | None = None, photo_colorspace: str = "srgb_tx",
                    progress: Progress | None = None,
                    crop_progress: Progress | None = None) -> dict[str, Any]:
    """Write a training dataset of ``identity`` to ``out`` from ``source``.

    source: a folder of photos, or a plate pattern (``frames``: a range of it;
    ``alignment``: use this alignment instead of aligning again). resolution: crop side px
    (a power of two, as ``crop_size``). params: parameter values (defaults for the rest;
    ``crop_margin`` frames the crop; ``track`` picks the faces: of a plate, as ``align``;
    of each photo, ``"all"`` keeps every face, anything else the largest). ``progress``
    reports the finding pass, ``crop_progress`` the writing one. Only detected faces become
    items (interpolated frames are skipped). Into an existing dataset of the same identity,
    resolution and colour space the new crops are appended (sources already in it are not
    extracted again); another one is refused. Returns the manifest written.
    """
    values = schema.resolve(params, {"crop_size": resolution})
    size, margin = int(values["crop_size"]), float(values["crop_margin"])
    out = Path(out)
    if not identity or not identity.strip():
        raise DatasetError("identity must not be empty", path=out)
    old = _existing(out, identity, size, values["working_colorspace"])
    src = Path(source)
    if src.is_dir():
        files = photo_files(src)
        if not files:
            raise NoFramesError(f"no image files ({', '.join(PHOTO_SUFFIXES)}) in the folder",
                                path=src)
    else:
        seq = ImageSequence.find(str(source), frames)
        files = [seq.path(f) for f in seq.frames]
    check_outside([out, out / "crops", out / "masks"], {"the source": files})
    if src.is_dir():
        found, skipped = _from_photos(files, values, photo_colorspace, progress)
    else:
        found, skipped = _from_plates(seq, values, alignment, progress)
    done = {(i["source"]["path"], i["source"]["frame"]) for i in old["items"]} if old else set()
    found = [f for f in found if (str(f.path), f.frame) not in done]  # already in the dataset
    taken = {Path(i["image"]).stem for i in old["items"]} if old else set()
    for sub in ("crops", "masks"):
        ensure_writable_dir(out / sub)
    items, thumbs = [], []
    show = set(np.linspace(0, len(found) - 1, min(len(found), SHEET_MAX)).round().astype(int))
    cache: tuple[tuple[Path, int | None], np.ndarray, str] | None = None
    for n, face in enumerate(found):
        if cache is None or cache[0] != (face.path, face.frame):
            part = read_image(face.path, face.frame).parts[0]
            cache = ((face.path, face.frame), *part_pixels(part, values, photo_colorspace))
        rgb, space = cache[1], cache[2]
        m = plate_from_crop(face.landmarks, size, margin)
        crop = convert(crop_face(rgb, m, size), space, values["working_colorspace"],
                       values["ocio_config"])
        lms = apply(invert(m), face.landmarks)
        face = dataclasses.replace(face, stem=_unique(face.stem, taken))
        write_image(Image.from_array(crop, dtype=np.float16), out / "crops" / f"{face.stem}.exr",
                    face.frame)
        write_image(Image.from_array(face_mask(lms, size)[..., None], ("Y",), np.uint8),
                    out / "masks" / f"{face.stem}.png", face.frame)
        items.append({"image": f"crops/{face.stem}.exr", "mask": f"masks/{face.stem}.png",
                      "landmarks": np.round(lms, 4).tolist(),
                      "source": {"path": str(face.path), "frame": face.frame,
                                 "plate_from_crop": m.tolist()}})
        if n in show:
            thumbs.append(_thumbnail(crop, lms, size))
        if crop_progress is not None:
            crop_progress(n + 1, len(found))
    if old:  # appended: earlier items stay, a source skipped before may have a face now
        got = {(i["source"]["path"], i["source"]["frame"]) for i in items}
        skipped = [k for k in old["skipped"] if (k["source"], k["frame"]) not in got] + [
            k for k in skipped if (k["source"], k["frame"]) not in
            {(o["source"], o["frame"]) for o in old["skipped"]}]
        items = old["items"] + items
    manifest = {"format": DATASET_FORMAT, "version": DATASET_VERSION, "identity": identity,
                "resolution": size, "colorspace": values["working_colorspace"],
                "items": items, "skipped": skipped}
    if thumbs or not old:
        write_image(Image.from_array(contact_sheet(thumbs), dtype=np.uint8),
                    out / "contact_sheet.png")
    atomic_write_text(out / "manifest.json", dumps(manifest) + "\n")
    return manifest


def _display_size(seq: ImageSequence) -> tuple[int, int]:
    box = read_image(seq.path(seq.frames[0]), seq.frames[0]).parts[0].display_window
    return box.width, box.height


def _thumbnail(crop: np.ndarray, landmarks_crop: np.ndarray, size: int) -> np.ndarray:
    """(SHEET_THUMB, SHEET_THUMB, 3) uint8 of a working-space crop with green landmarks."""
    t = SHEET_THUMB
    image = torch.from_numpy(np.ascontiguousarray(crop)).permute(2, 0, 1)[None]
    k = t / size
    small = warp_affine(image, np.diag([k, k, 1.0]), (t, t))[0].permute(1, 2, 0).numpy()
    out = np.round(np.clip(small, 0.0, 1.0) * 255).astype(np.uint8)
    for x, y in landmarks_crop * k:
        i, j = int(math.floor(y)), int(math.floor(x))
        out[max(i - 1, 0):i + 1, max(j - 1, 0):j + 1] = (0, 255, 0)
    return out


def contact_sheet(thumbs: list[np.ndarray], columns: int = 10) -> np.ndarray:
    """Thumbnails (h, w, 3) uint8 in rows of ``columns``, 2 px apart: (H, W, 3) uint8."""
    if not thumbs:
        return np.zeros((SHEET_THUMB, SHEET_THUMB, 3), np.uint8)
    h, w = thumbs[0].shape[:2]
    cols = min(columns, len(thumbs))
    rows = math.ceil(len(thumbs) / cols)
    sheet = np.full((rows * (h + 2) + 2, cols * (w + 2) + 2, 3), 40, np.uint8)
    for k, thumb in enumerate(thumbs):
        r, c = divmod(k, cols)
        sheet[2 + r * (h + 2):2 + r * (h + 2) + h, 2 + c * (w + 2):2 + c * (w + 2) + w] = thumb
    return sheet
