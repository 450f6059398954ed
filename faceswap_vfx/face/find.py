"""Faces of in-memory frames: detect, landmark, refine per frame; link and smooth tracks.

The frames are display-referred 8-bit views of the plate (the caller converts through
OCIO); see :mod:`faceswap_vfx.face.pipeline` for sequences on disk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from faceswap_vfx.face.detect import detect
from faceswap_vfx.face.landmarks import landmarks_many
from faceswap_vfx.face.stabilise import refine, smooth_track
from faceswap_vfx.face.track import Face, Track, link


def find_faces(image_u8: np.ndarray, detector: str = "hog", upsample: int = 1,
               model: str | Path | None = None, refine_jitter: int | None = 4) -> list[Face]:
    """Every face in one frame, best detector score first.

    image_u8: (H, W, 3) uint8 display-referred frame. refine_jitter: jittered boxes for
    :func:`~faceswap_vfx.face.stabilise.refine` (0: the aligned crop only; None: no
    refinement, dlib's landmarks on the detector box). Landmarks (68, 2) in plate px.
    """
    found = detect(image_u8, detector, upsample)
    if not found:
        return []
    lms = landmarks_many(image_u8, [d.box for d in found], model)
    if refine_jitter is not None:
        lms = np.stack([refine(image_u8, pts, refine_jitter, model) for pts in lms])
    return [Face(np.asarray(d.box, dtype=np.float64), pts, d.score)
            for d, pts in zip(found, lms, strict=True)]


def track_faces(frames_u8: Iterable[np.ndarray], params: dict,
                progress: Callable[[int], None] | None = None) -> list[Track]:
    """All face tracks of a sequence of in-memory frames.

    frames_u8: (H, W, 3) uint8 display-referred frames, in order (None: a frame without a
    view, e.g. unreadable; it has no face). params: the "faces"
    parameters (:mod:`faceswap_vfx.params`; ``detector``, ``detector_upsample``,
    ``landmark_model``, ``refine_jitter``, ``max_gap``, ``smooth_cutoff``).
    progress: called with each frame's position once it is done.
    Returns every track (see :func:`~faceswap_vfx.face.track.pick` to choose), smoothed.
    """
    per_frame = []
    for t, image in enumerate(frames_u8):
        per_frame.append([] if image is None else find_faces(
            image, params["detector"], params["detector_upsample"],
            params["landmark_model"] or None, params["refine_jitter"]))
        if progress is not None:
            progress(t)
    tracks = link(per_frame, max_gap=params["max_gap"])
    return [smooth_track(tr, params["smooth_cutoff"]) for tr in tracks]
