"""Align a plate sequence on disk: read, view through OCIO, find and track faces, fit crops.

Detection and landmarks run on the display-referred 8-bit view of each frame (the plate's
colour space to ``working_colorspace`` through OCIO), over the display window (pixels
outside the data window are black), so every coordinate is display-window plate px.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch

from faceswap_vfx import params as schema
from faceswap_vfx.core.geometry import plate_from_crop
from faceswap_vfx.errors import FaceswapError, PlateReadError
from faceswap_vfx.face.align_file import Alignment, FaceEntry
from faceswap_vfx.face.find import track_faces
from faceswap_vfx.face.track import DETECTED, INTERPOLATED, NO_FACE, Track, pick
from faceswap_vfx.io.colour import display_uint8
from faceswap_vfx.io.image import ImagePart, read_image
from faceswap_vfx.io.sequence import ImageSequence

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
"""``progress(done, total)``: called after each frame."""


def detector_view(rgb: np.ndarray, params: dict[str, Any],
                  colorspace: str | None = None) -> np.ndarray:
    """The (H, W, 3) uint8 view the detector sees of float (H, W, 3) pixels in
    ``colorspace`` (default: ``plate_colorspace``), made through OCIO."""
    return display_uint8(rgb, colorspace or params["plate_colorspace"],
                         params["working_colorspace"], params["ocio_config"])


PHOTO_COLORSPACE = "srgb_tx"
"""Colour space of 8/16-bit integer files (PNG, JPEG, TIFF photos): the sRGB encoding, their
type's convention. Float files (EXR plates) are in the ``plate_colorspace`` parameter."""


def part_pixels(part: ImagePart, params: dict[str, Any],
                photo_colorspace: str = PHOTO_COLORSPACE) -> tuple[np.ndarray, str]:
    """Display-window RGB (H, W, 3) float32 of an image part and its colour space: float
    files are in ``plate_colorspace``, 8/16-bit files in ``photo_colorspace``. Used alike by
    ``align`` and ``extract``."""
    integer = next(iter(part.channels.values())).dtype.kind in "ui"
    rgb = np.nan_to_num(part.display_rgb(), nan=0.0, posinf=65504.0, neginf=-65504.0)
    return rgb, photo_colorspace if integer else params["plate_colorspace"]


def read_part(seq: ImageSequence, frame: int) -> ImagePart:
    """The first part of ``frame`` (the plate's RGB)."""
    return read_image(seq.path(frame), frame).parts[0]


def _view(seq: ImageSequence, frame: int, params: dict[str, Any]
          ) -> tuple[tuple[int, int], np.ndarray]:
    part = read_part(seq, frame)
    size = (part.display_window.width, part.display_window.height)
    rgb, colorspace = part_pixels(part, params)
    return size, detector_view(rgb, params, colorspace)


def _views(seq: ImageSequence, params: dict[str, Any], size: list[tuple[int, int]]
           ) -> Iterator[np.ndarray | None]:
    """Each frame's detector view; the display size of the first readable frame is appended
    to ``size``. A frame that cannot be read, or whose size differs, gives None (no face
    there) and a warning naming it: the other frames still align, and a render fails that
    frame alone when it reads it."""
    for frame in seq.frames:
        try:
            here, view = _view(seq, frame, params)
            if size and here != size[0]:
                raise PlateReadError(f"display window is {here[0]}x{here[1]}, the first "
                                     f"frame's is {size[0][0]}x{size[0][1]}",
                                     path=seq.path(frame), frame=frame)
        except FaceswapError as exc:
            log.warning("not aligned: %s", exc)
            yield None
            continue
        if not size:
            size.append(here)
        yield view


def track_summary(track: Track, frames: list[int], kept: bool) -> dict[str, Any]:
    """What the alignment file says about one track."""
    present = np.flatnonzero(track.present)
    return {"id": track.id, "kept": kept,
            "first": frames[present[0]] if len(present) else None,
            "last": frames[present[-1]] if len(present) else None,
            "detected": track.flags.count(DETECTED),
            "interpolated": track.flags.count(INTERPOLATED),
            "median_size": round(track.median_size, 2)}


def alignment_from_tracks(tracks: list[Track], kept: list[Track], frames: list[int],
                          pattern: str, size: tuple[int, int], params: dict[str, Any],
                          missing: list[int] | None = None) -> Alignment:
    """An :class:`Alignment` of the ``kept`` tracks (``tracks``: all that were found),
    with ``plate_from_crop`` for the ``crop_size``/``crop_margin`` of ``params``; the
    "colour" and "faces" parameters are recorded."""
    r, margin = int(params["crop_size"]), float(params["crop_margin"])
    used = {k: v for k, v in params.items()
            if k in schema.PARAMS and schema.PARAMS[k].group in ("colour", "faces")}
    alignment = Alignment(pattern, size, list(frames), r, margin, missing=list(missing or []),
                          params=used)
    kept_ids = {tr.id for tr in kept}
    alignment.tracks = [track_summary(tr, frames, tr.id in kept_ids) for tr in tracks]
    for t, frame in enumerate(frames):
        entries = []
        for tr in kept:
            flag = tr.flags[t]
            if flag == NO_FACE:
                entries.append(FaceEntry(tr.id, flag))
                continue
            pts = tr.landmarks[t]
            score = float(tr.scores[t]) if flag == DETECTED else None
            entries.append(FaceEntry(tr.id, flag, pts, plate_from_crop(pts, r, margin), score))
        alignment.faces[frame] = entries
    return alignment


@contextlib.contextmanager
def one_torch_thread() -> Iterator[None]:
    """Run torch single-threaded inside the block (the previous count is restored).

    Alignment uses torch only for small crop warps between dlib and OCIO calls; idle
    intra-op threads spinning after each warp slowed the whole of ``align`` by 25-40 % on
    two shared cores. The setting is process-wide while the block runs."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def align_sequence(seq: ImageSequence, params: dict[str, Any] | None = None,
                   progress: Progress | None = None) -> Alignment:
    """Align every frame of ``seq`` on disk.

    params: parameter values (missing ones take their defaults; see
    :mod:`faceswap_vfx.params`, groups "colour" and "faces"). Frames without a face are
    NO_FACE entries, not errors; a ``track`` id that was not found raises
    :class:`~faceswap_vfx.errors.TrackError`. Returns the :class:`Alignment` to save.
    """
    values = schema.resolve(params)
    size: list[tuple[int, int]] = []
    total = len(seq.frames)

    def tick(t: int) -> None:
        if progress is not None:
            progress(t + 1, total)

    with one_torch_thread():
        tracks = track_faces(_views(seq, values, size), values, tick)
    kept = [] if not tracks and values["track"] == "largest" else pick(tracks, values["track"])
    return alignment_from_tracks(tracks, kept, seq.frames, seq.pattern.printf
                                 if seq.pattern.has_token else seq.pattern.prefix,
                                 size[0] if size else (0, 0), values, seq.missing)
