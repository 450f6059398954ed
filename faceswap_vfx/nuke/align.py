"""Bake an alignment file into the FaceAlign / FaceUnalign gizmos' animated knobs.

The alignment file holds ``plate_from_crop`` per frame in top-left-origin plate pixels
(:mod:`faceswap_vfx.face.align_file`). In Nuke (origin bottom-left, y up) the same map
is ``to_nuke_matrix(plate_from_crop, src_height=crop size, dst_height=plate height)``;
as a similarity it is exactly a Transform node with ``center 0 0``: translate, then
rotate (degrees, counter-clockwise), then uniform scale, ``M = T(translate) R S``.
FaceAlign applies ``crop_from_plate`` (plate -> crop), FaceUnalign ``plate_from_crop``.
Runs in the backend's Python (``faceswap-vfx gizmos bake``): it needs numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from faceswap_vfx.core.geometry import invert, to_nuke_matrix
from faceswap_vfx.errors import NoFaceError, TrackError
from faceswap_vfx.face.align_file import Alignment
from faceswap_vfx.face.track import NO_FACE
from faceswap_vfx.nuke.knobs import number

DIRECTIONS = ("align", "unalign")
"""``align``: plate -> crop (FaceAlign); ``unalign``: crop -> plate (FaceUnalign)."""


@dataclass(frozen=True)
class TransformKnobs:
    """A Nuke Transform with ``center 0 0`` and no skew: ``translate`` (x, y) px,
    ``rotate`` degrees counter-clockwise (y up), uniform ``scale``."""

    translate: tuple[float, float]
    rotate: float
    scale: float

    def matrix(self) -> np.ndarray:
        """The (3, 3) Nuke-frame matrix ``T(translate) R(rotate) S(scale)``."""
        c, s = math.cos(math.radians(self.rotate)), math.sin(math.radians(self.rotate))
        k = self.scale
        return np.array([[k * c, -k * s, self.translate[0]],
                         [k * s, k * c, self.translate[1]], [0.0, 0.0, 1.0]])


def transform_knobs(m: np.ndarray, tol: float = 1e-6) -> TransformKnobs:
    """Decompose a (3, 3) Nuke-frame similarity (positive scale, no reflection) into
    Transform knobs; ``ValueError`` if ``m`` is not one (to ``tol`` times its scale)."""
    m = np.asarray(m, dtype=np.float64)
    if m.shape != (3, 3) or not np.all(np.isfinite(m)):
        raise ValueError(f"expected a finite (3, 3) matrix, got {m.shape}")
    a, b = (m[0, 0] + m[1, 1]) / 2.0, (m[1, 0] - m[0, 1]) / 2.0
    scale = math.hypot(a, b)
    off = max(abs(m[0, 0] - m[1, 1]), abs(m[0, 1] + m[1, 0]))
    if scale <= 0 or off > tol * scale or np.abs(m[2] - (0.0, 0.0, 1.0)).max() > tol:
        raise ValueError("the transform is not a similarity (rotation, uniform scale, shift)")
    return TransformKnobs((float(m[0, 2]), float(m[1, 2])), math.degrees(math.atan2(b, a)),
                          scale)


def nuke_similarity(plate_from_crop: np.ndarray, direction: str, crop_size: int,
                    plate_height: int) -> np.ndarray:
    """One frame's map in Nuke coordinates: ``crop_from_plate`` for ``align``,
    ``plate_from_crop`` for ``unalign``. plate_from_crop: (3, 3), top-left origin."""
    if direction == "align":
        return to_nuke_matrix(invert(plate_from_crop), plate_height, crop_size)
    if direction == "unalign":
        return to_nuke_matrix(plate_from_crop, crop_size, plate_height)
    raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")


def one_track(alignment: Alignment, track: str) -> int:
    """The track id that ``track`` ('largest', an id, or 'all' when there is one track)
    selects, as the render selects it."""
    from faceswap_vfx.render.nodes import select_tracks  # lazily: render imports torch

    ids = sorted(select_tracks(alignment, str(track)))
    if len(ids) != 1:
        raise TrackError(f"track {track!r} selects tracks {ids}; FaceAlign and FaceUnalign "
                         "follow one: set track to one id")
    return ids[0]


def curve(frames: list[int], values: list[float]) -> str:
    """A Nuke ``curve`` with one key per frame: ``curve x1001 v v ...`` (an ``x`` again
    after each gap in ``frames``)."""
    words, expected = ["curve"], None
    for frame, value in zip(frames, values, strict=True):
        if frame != expected:
            words.append(f"x{frame}")
        words.append(f"{value:.10g}")
        expected = frame + 1
    return " ".join(words)


def bake(alignment: Alignment, track: str = "largest", direction: str = "align"
         ) -> dict[str, str]:
    """Knob scripts (``knob.fromScript`` text) for the gizmo's ``face_translate``,
    ``face_rotate``, ``face_scale``, ``face_present`` (keys on every aligned frame; a frame
    without a face holds the nearest face's transform and has ``face_present`` 0),
    ``out_width`` and ``out_height`` (crop size for ``align``, plate size for ``unalign``).
    Raises :class:`TrackError` for a track that selects not exactly one track and
    :class:`NoFaceError` when the track has no face at all."""
    tid = one_track(alignment, track)
    width, height = alignment.size
    frames = list(alignment.frames)
    knobs: dict[int, TransformKnobs] = {}
    for frame in frames:
        entry = alignment.entry(frame, tid)
        if entry.flag != NO_FACE:
            m = nuke_similarity(entry.plate_from_crop, direction, alignment.crop_size, height)
            knobs[frame] = transform_knobs(m, tol=1e-5)
    if not knobs:
        raise NoFaceError(f"track {tid} has no face in frames {frames[0]}-{frames[-1]}")
    have = sorted(knobs)
    held = [knobs[f] if f in knobs else knobs[min(have, key=lambda h: (abs(h - f), h))]
            for f in frames]
    rotate = np.degrees(np.unwrap(np.radians([k.rotate for k in held])))
    tx = curve(frames, [k.translate[0] for k in held])
    ty = curve(frames, [k.translate[1] for k in held])
    size = (alignment.crop_size,) * 2 if direction == "align" else (width, height)
    return {
        "face_translate": f"{{{tx}}} {{{ty}}}",
        "face_rotate": f"{{{curve(frames, list(rotate))}}}",
        "face_scale": f"{{{curve(frames, [k.scale for k in held])}}}",
        "face_present": f"{{{curve(frames, [float(f in knobs) for f in frames])}}}",
        "out_width": number(size[0]),
        "out_height": number(size[1]),
    }
