"""Faces linked across frames into tracks with stable ids; short gaps interpolated.

Frames are positions ``0..T-1`` in the order given (a sequence's own frame numbers are
the caller's business). Ids are ``0, 1, ...`` in order of first appearance, then of face
size (larger first), then left to right, so they do not depend on detection order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from faceswap_vfx.errors import NoFaceError, TrackError
from faceswap_vfx.face.convert import box_iou

DETECTED = "detected"
INTERPOLATED = "interpolated"
NO_FACE = "no_face"
FLAGS = (DETECTED, INTERPOLATED, NO_FACE)
"""Per-frame state of a track: found by the detector, bridged over a gap, or absent."""


@dataclass(frozen=True)
class Face:
    """One face in one frame: ``box`` (4,) x0, y0, x1, y1 and ``landmarks`` (68, 2),
    plate px; ``score`` the detector's."""

    box: np.ndarray
    landmarks: np.ndarray
    score: float

    @property
    def size(self) -> float:
        """Geometric mean of the box sides, px."""
        return float(np.sqrt(max(0.0, (self.box[2] - self.box[0]) * (self.box[3] - self.box[1]))))


@dataclass
class Track:
    """One face over a whole sequence of T frames.

    landmarks (T, 68, 2) and boxes (T, 4) in plate px, NaN where ``flags`` is NO_FACE;
    scores (T,) detector scores, NaN unless DETECTED; flags: T of :data:`FLAGS`.
    """

    id: int
    landmarks: np.ndarray
    boxes: np.ndarray
    scores: np.ndarray
    flags: list[str] = field(default_factory=list)

    @property
    def present(self) -> np.ndarray:
        """(T,) bool: frames with landmarks (detected or interpolated)."""
        return np.array([f != NO_FACE for f in self.flags], dtype=bool)

    def runs(self) -> list[tuple[int, int]]:
        """Runs of consecutive present frames as ``(start, stop)`` slices."""
        out, start = [], None
        for t, here in enumerate(list(self.present) + [False]):
            if here and start is None:
                start = t
            elif not here and start is not None:
                out.append((start, t))
                start = None
        return out

    @property
    def median_size(self) -> float:
        """Median box size (sqrt of area, px) over detected frames."""
        b = self.boxes[[f == DETECTED for f in self.flags]]
        if not len(b):
            return 0.0
        return float(np.median(np.sqrt(np.clip((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]), 0,
                                               None))))


def _match_cost(last: Face, last_t: int, velocity: np.ndarray | None, face: Face, t: int,
                max_gap: int, min_iou: float, max_distance: float) -> float:
    """Cost of continuing a track last seen as ``last`` at ``last_t`` with ``face`` at
    ``t``; ``inf`` when they do not match. Within ``max_gap`` the last face is moved on by
    its velocity (landmarks px/frame) before comparing."""
    steps = t - last_t
    pts, box = last.landmarks, last.box
    if velocity is not None and steps - 1 <= max_gap:
        shift = velocity * steps  # (68, 2)
        pts = pts + shift
        box = box + np.tile(shift.mean(axis=0), 2)
    iou = box_iou(box, face.box)
    dist = float(np.mean(np.linalg.norm(pts - face.landmarks, axis=1))) / max(last.size, 1.0)
    if iou < min_iou and dist > max_distance:
        return np.inf
    return (1.0 - iou) + dist + 0.01 * (steps - 1)  # prefer the most recently seen


def link(faces: Sequence[Sequence[Face]], max_gap: int = 5, min_iou: float = 0.3,
         max_distance: float = 0.25) -> list[Track]:
    """Link each frame's faces into tracks and bridge gaps.

    faces: per frame (T of them), the faces found there. A face continues a track when
    their boxes overlap by ``min_iou`` or more, or their landmarks lie within
    ``max_distance`` face sizes on average (faces matched one-to-one, least total cost).
    A track seen again after any gap keeps its id; gaps of up to ``max_gap`` frames are
    filled by linear interpolation (INTERPOLATED), longer ones are NO_FACE.
    Returns tracks ordered and numbered as described in the module docstring.
    """
    n = len(faces)
    seen: list[dict[int, Face]] = []  # per track: frame -> face
    for t, here in enumerate(faces):
        here = list(here)
        cost = np.full((len(seen), len(here)), np.inf)
        for i, track in enumerate(seen):
            times = sorted(track)
            last_t = times[-1]
            vel = None
            if len(times) > 1 and last_t - times[-2] <= max_gap + 1:
                prev = track[times[-2]]
                vel = (track[last_t].landmarks - prev.landmarks) / (last_t - times[-2])
            for j, face in enumerate(here):
                cost[i, j] = _match_cost(track[last_t], last_t, vel, face, t, max_gap, min_iou,
                                         max_distance)
        matched = set()
        if cost.size:
            rows, cols = linear_sum_assignment(np.where(np.isfinite(cost), cost, 1e9))
            for i, j in zip(rows, cols, strict=True):
                if np.isfinite(cost[i, j]):
                    seen[i][t] = here[j]
                    matched.add(j)
        seen.extend({t: face} for j, face in enumerate(here) if j not in matched)

    def order(track: dict[int, Face]) -> tuple:
        first = min(track)
        return first, -track[first].size, float(track[first].box[0])

    return [_fill(k, track, n, max_gap) for k, track in enumerate(sorted(seen, key=order))]


def _fill(track_id: int, seen: dict[int, Face], n: int, max_gap: int) -> Track:
    """Dense arrays over all n frames; gaps up to ``max_gap`` interpolated."""
    lms = np.full((n, 68, 2), np.nan)
    boxes = np.full((n, 4), np.nan)
    scores = np.full(n, np.nan)
    flags = [NO_FACE] * n
    times = sorted(seen)
    for t in times:
        lms[t], boxes[t], scores[t] = seen[t].landmarks, seen[t].box, seen[t].score
        flags[t] = DETECTED
    for a, b in zip(times[:-1], times[1:], strict=True):
        if 1 < b - a <= max_gap + 1:
            for t in range(a + 1, b):
                w = (t - a) / (b - a)
                lms[t] = (1 - w) * lms[a] + w * lms[b]
                boxes[t] = (1 - w) * boxes[a] + w * boxes[b]
                flags[t] = INTERPOLATED
    return Track(track_id, lms, boxes, scores, flags)


def pick(tracks: Sequence[Track], which: str | int = "largest") -> list[Track]:
    """The tracks to use: ``"all"``, ``"largest"`` or a track id (int or digits).

    ``"largest"``: among the tracks detected in at least half as many frames as the most
    detected one (so a few false detections never win), the largest median face; ties:
    the most frames, then the lowest id.

    No tracks: ``"all"`` gives ``[]``, ``"largest"`` raises :class:`NoFaceError`; an id
    that does not exist raises :class:`TrackError` listing those that do.
    """
    stats = [(tr.id, tr.flags.count(DETECTED), tr.median_size) for tr in tracks]
    ids = pick_ids(stats, which)
    return [tr for tr in tracks if tr.id in ids]


def pick_ids(stats: Sequence[tuple[int, int, float]], which: str | int = "largest"
             ) -> list[int]:
    """:func:`pick` on ``(id, frames detected, median face size)`` of each track: the ids
    to use, in the order given."""
    if which == "all":
        return [i for i, _, _ in stats]
    if which == "largest":
        if not stats:
            raise NoFaceError("no face was found in any frame")
        most = max(n for _, n, _ in stats)
        enough = [s for s in stats if 2 * s[1] >= most]
        return [max(enough, key=lambda s: (s[2], s[1], -s[0]))[0]]
    try:
        wanted = int(which)
    except (TypeError, ValueError):
        raise TrackError(f"track {which!r}: expected 'largest', 'all' or a track id") from None
    if any(i == wanted for i, _, _ in stats):
        return [wanted]
    ids = ", ".join(str(i) for i, _, _ in stats) or "none"
    raise TrackError(f"no track {wanted}; tracks found: {ids}")
