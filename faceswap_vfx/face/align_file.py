"""The alignment file (``*.align.json``): per frame and face track, where the face is.

A versioned JSON contract read by the render, the Nuke gizmo and dataset extraction
instead of detecting again; documented in ``docs/alignment_file.md``. Coordinates are
plate pixels of the display window: x right, y down, origin at the top-left corner of its
top-left pixel, pixel centres at +0.5 (:mod:`faceswap_vfx.core.geometry`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import faceswap_vfx
from faceswap_vfx.errors import AlignFileError
from faceswap_vfx.face.track import DETECTED, FLAGS, NO_FACE, pick_ids
from faceswap_vfx.io.atomic import atomic_write_text
from faceswap_vfx.io.sequence import FramePattern, format_frames
from faceswap_vfx.io.versioned import check_version, read_json

ALIGN_FORMAT = "faceswap_vfx.align"
ALIGN_VERSION = 1
COORDINATES = ("plate pixels of the display window: x right, y down, origin at the top-left "
               "corner of the top-left pixel, pixel centres at +0.5")


@dataclass
class FaceEntry:
    """One track in one frame. ``landmarks`` (68, 2) plate px and ``plate_from_crop``
    (3, 3) are None when ``flag`` is ``"no_face"``; ``score`` only when ``"detected"``."""

    track: int
    flag: str
    landmarks: np.ndarray | None = None
    plate_from_crop: np.ndarray | None = None
    score: float | None = None


@dataclass
class Alignment:
    """An alignment file's content.

    ``size``: (width, height) of the display window, px. ``frames``: the frames aligned, in
    order; ``faces[frame]``: one :class:`FaceEntry` per track kept. ``missing``: frames of
    the range asked for that were not on disk. ``crop_size``, ``crop_margin``: the crop
    that ``plate_from_crop`` maps from. ``params``: every parameter used.
    """

    pattern: str
    size: tuple[int, int]
    frames: list[int]
    crop_size: int
    crop_margin: float
    faces: dict[int, list[FaceEntry]] = field(default_factory=dict)
    missing: list[int] = field(default_factory=list)
    tracks: list[dict[str, Any]] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def track_ids(self) -> list[int]:
        """Ids of the tracks kept, ascending."""
        return sorted({e.track for entries in self.faces.values() for e in entries})

    def entry(self, frame: int, track: int) -> FaceEntry:
        """The entry of ``track`` in ``frame`` (a NO_FACE entry if the frame has none)."""
        for e in self.faces.get(frame, []):
            if e.track == track:
                return e
        return FaceEntry(track, NO_FACE)

    def select_tracks(self, which: str | int = "largest") -> list[int]:
        """Ids of the kept tracks that ``which`` picks, by the rule of
        :func:`~faceswap_vfx.face.track.pick` (``"largest"`` by median face size)."""
        stats = []
        for track in self.track_ids:
            entries = [e for f in self.frames for e in self.faces.get(f, []) if e.track == track]
            sizes = [math.sqrt(abs(np.linalg.det(e.plate_from_crop[:2, :2]))) * self.crop_size
                     for e in entries if e.flag == DETECTED]
            stats.append((track, len(sizes), float(np.median(sizes)) if sizes else 0.0))
        return pick_ids(stats, which)

    def check_shot(self, pattern: str, frames: list[int], size: tuple[int, int],
                   path: str | Path | None = None) -> None:
        """Raise :class:`AlignFileError` unless this alignment was made for these plates:
        the same display size, the same file name pattern (folders may differ: shots move
        between disks) and at least one frame in common."""
        self.check_plate(size, path)
        mine = Path(FramePattern.parse(self.pattern).printf).name
        theirs = Path(FramePattern.parse(pattern).printf).name
        if mine != theirs:
            raise AlignFileError(f"alignment was made for plates {mine}, not {theirs}",
                                 path=path)
        if not set(frames) & set(self.frames):
            raise AlignFileError(f"alignment covers frames {format_frames(self.frames)}, none "
                                 f"of the {format_frames(frames)} asked for", path=path)

    def check_plate(self, size: tuple[int, int], path: str | Path | None = None) -> None:
        """Raise :class:`AlignFileError` unless the plate is ``size`` (width, height)."""
        if tuple(size) != tuple(self.size):
            raise AlignFileError(f"alignment is for a {self.size[0]}x{self.size[1]} plate, "
                                 f"this plate is {size[0]}x{size[1]}", path=path)


def _round(a: np.ndarray, digits: int) -> list:
    return np.round(np.asarray(a, dtype=np.float64), digits).tolist()


def to_json(alignment: Alignment) -> dict[str, Any]:
    """The file's JSON object (see ``docs/alignment_file.md``)."""
    frames = []
    for frame in alignment.frames:
        faces = []
        for e in alignment.faces.get(frame, []):
            present = e.flag != NO_FACE
            faces.append({
                "track": e.track,
                "flag": e.flag,
                "score": None if e.score is None or not math.isfinite(e.score) else
                round(float(e.score), 4),
                "crop_size": alignment.crop_size,
                "landmarks": _round(e.landmarks, 4) if present else None,
                "plate_from_crop": _round(e.plate_from_crop, 10) if present else None,
            })
        frames.append({"frame": frame, "faces": faces})
    width, height = alignment.size
    return {
        "format": ALIGN_FORMAT,
        "version": ALIGN_VERSION,
        "writer": f"faceswap_vfx {faceswap_vfx.__version__}",
        "coordinates": COORDINATES,
        "plate": {"pattern": alignment.pattern, "width": width, "height": height,
                  "frames": alignment.frames, "missing": alignment.missing},
        "crop": {"size": alignment.crop_size, "margin": alignment.crop_margin},
        "params": alignment.params,
        "tracks": alignment.tracks,
        "frames": frames,
    }


def dumps(value: Any, level: int = 0) -> str:
    """JSON with objects indented one space per level and arrays of plain values (numbers,
    landmark lists, matrices) kept on one line: readable, and diffs stay small."""
    pad = " " * (level + 1)
    if isinstance(value, dict) and value:
        items = [f"{pad}{json.dumps(k)}: {dumps(v, level + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * level + "}"
    if isinstance(value, list) and any(isinstance(v, dict) for v in value):
        return ("[\n" + ",\n".join(pad + dumps(v, level + 1) for v in value) + "\n"
                + " " * level + "]")
    return json.dumps(value, separators=(", ", ": "))


def save_alignment(alignment: Alignment, path: str | Path) -> None:
    """Write ``alignment`` as versioned JSON, atomically."""
    atomic_write_text(path, dumps(to_json(alignment)) + "\n")


def _array(value: Any, shape: tuple[int, ...], what: str, path: Path) -> np.ndarray:
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        a = None
    if a is None or a.shape != shape or not np.all(np.isfinite(a)):
        raise AlignFileError(f"{what} must be {shape} finite numbers", path=path)
    return a


MAX_SCALE = 64.0
"""Largest ``plate_from_crop`` scale, plate px per crop px, taken as a real face (a 64 px
crop of a 4096 px face); a larger, a vanishing or a mirrored one is an error."""


def check_geometry(entry: FaceEntry, size: tuple[int, int], crop_size: int, frame: int,
                   path: str | Path) -> None:
    """Raise :class:`AlignFileError` naming ``path`` and ``frame`` unless ``entry``'s
    ``plate_from_crop`` is a similarity the render can invert and use: last row
    ``(0, 0, 1)``, a positive scale below :data:`MAX_SCALE` (the face at least a pixel
    wide), not mirrored, and the crop's centre within a plate's size of the plate."""
    m = entry.plate_from_crop
    det = float(np.linalg.det(m[:2, :2]))
    scale = math.sqrt(abs(det))
    centre = m[:2, :2] @ [crop_size / 2, crop_size / 2] + m[:2, 2]
    width, height = size
    why = None
    if not np.allclose(m[2], [0.0, 0.0, 1.0]):
        why = "its last row is not (0, 0, 1)"
    elif det <= 0 or scale * crop_size < 1.0:
        why = "it is singular, mirrored or maps the crop to less than a pixel"
    elif scale > MAX_SCALE:
        why = f"its scale {scale:.3g} is above {MAX_SCALE:g} plate px per crop px"
    elif not (-width <= centre[0] <= 2 * width and -height <= centre[1] <= 2 * height):
        why = f"it puts the face at ({centre[0]:.0f}, {centre[1]:.0f}), far off the plate"
    if why:
        raise AlignFileError(f"track {entry.track}: plate_from_crop is not a usable face "
                             f"placement: {why}", path=path, frame=frame)


def from_json(body: Any, path: str | Path = "<json>") -> Alignment:
    """Parse the file's JSON object; :class:`AlignFileError` naming ``path`` if invalid."""
    path = Path(path)
    check_version(body, path, fmt=ALIGN_FORMAT, version=ALIGN_VERSION,
                  kind="an alignment file", error=AlignFileError)
    try:
        plate, crop = body["plate"], body["crop"]
        alignment = Alignment(
            pattern=str(plate["pattern"]), size=(int(plate["width"]), int(plate["height"])),
            frames=[int(f["frame"]) for f in body["frames"]],
            crop_size=int(crop["size"]), crop_margin=float(crop["margin"]),
            missing=[int(f) for f in plate.get("missing", [])],
            tracks=list(body.get("tracks", [])), params=dict(body.get("params", {})))
        for item in body["frames"]:
            entries = []
            for face in item["faces"]:
                flag = face["flag"]
                if flag not in FLAGS:
                    raise AlignFileError(f"frame {item['frame']}: unknown flag {flag!r}",
                                         path=path, frame=int(item["frame"]))
                entry = FaceEntry(int(face["track"]), flag)
                if flag != NO_FACE:
                    entry.landmarks = _array(face["landmarks"], (68, 2), "landmarks", path)
                    entry.plate_from_crop = _array(face["plate_from_crop"], (3, 3),
                                                   "plate_from_crop", path)
                    entry.score = None if face.get("score") is None else float(face["score"])
                    check_geometry(entry, alignment.size, alignment.crop_size,
                                   int(item["frame"]), path)
                entries.append(entry)
            alignment.faces[int(item["frame"])] = entries
    except (KeyError, TypeError, ValueError) as exc:
        raise AlignFileError(f"alignment file is malformed: {type(exc).__name__} {exc}",
                             path=path) from None
    return alignment


def load_alignment(path: str | Path) -> Alignment:
    """Read an alignment file. Raises :class:`AlignFileError` naming the file if it is
    missing, not JSON, not an alignment file, malformed, or of a newer version."""
    return from_json(read_json(path, "alignment file", AlignFileError), path)
