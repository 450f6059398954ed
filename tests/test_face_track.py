"""Tracks: stable ids for several faces, gaps bridged and flagged, picking a track."""

from __future__ import annotations

import numpy as np
import pytest

from faceswap_vfx.core.geometry import apply
from faceswap_vfx.core.template import TEMPLATE_68
from faceswap_vfx.errors import NoFaceError, TrackError
from faceswap_vfx.face.find import find_faces
from faceswap_vfx.face.track import DETECTED, INTERPOLATED, NO_FACE, Face, link, pick
from faceswap_vfx.samples.plates import linear_motion, synth_sequence, to_uint8


def _face(cx: float, cy: float, size: float, score: float = 1.0) -> Face:
    pts = TEMPLATE_68 * size + (cx, cy)
    half = size / 2
    return Face(np.array([cx - half, cy - half, cx + half, cy + half]), pts, score)


def test_ids_by_first_appearance_then_size():
    frames = [
        [_face(300, 100, 60)],
        [_face(100, 100, 80), _face(302, 100, 60), _face(500, 100, 120)],
        [_face(504, 100, 120), _face(304, 100, 60), _face(100, 101, 80)],
    ]
    tracks = link(frames)
    assert [tr.id for tr in tracks] == [0, 1, 2]
    assert np.allclose(tracks[0].landmarks[:, 8, 0] - 300, [0, 2, 4], atol=1e-9)
    assert tracks[0].flags == [DETECTED] * 3
    assert tracks[1].boxes[1, 0] == 500 - 60  # the larger of the two new faces comes first
    assert tracks[2].flags == [NO_FACE, DETECTED, DETECTED]
    assert np.isnan(tracks[2].landmarks[0]).all() and np.isnan(tracks[2].scores[0])


def test_pick():
    tracks = link([[_face(100, 100, 50)], [_face(101, 100, 50), _face(300, 100, 90)]])
    assert pick(tracks, "largest")[0].id == 1  # first seen later, but larger
    assert pick(tracks, "0")[0].id == 0 and pick(tracks, 1)[0].id == 1
    assert len(pick(tracks, "all")) == 2
    with pytest.raises(TrackError, match="tracks found: 0, 1"):
        pick(tracks, 7)
    with pytest.raises(TrackError):
        pick(tracks, "biggest")
    # a big face seen in one frame of four does not beat a smaller one seen throughout
    brief = link([[_face(100, 100, 50), _face(300, 100, 90)]] + [[_face(100, 100, 50)]] * 3)
    assert pick(brief, "largest")[0].median_size == 50
    with pytest.raises(NoFaceError):
        pick([], "largest")
    assert pick([], "all") == []


def test_far_jump_starts_a_new_track():
    tracks = link([[_face(100, 100, 50)], [_face(400, 300, 50)]])
    assert len(tracks) == 2


def test_two_faces_keep_their_ids(astronaut_face, grace_hopper):
    plate = (300, 640)
    motions = [linear_motion(astronaut_face.shape[:2], (150, 150), 1.0, velocity=(3, 0)),
               linear_motion(grace_hopper.shape[:2], (480, 150), 0.6, velocity=(-3, 1))]
    frames, truth = synth_sequence([astronaut_face, grace_hopper], 4, plate, motions)
    per_frame = [find_faces(to_uint8(f), upsample=0, refine_jitter=0) for f in frames]
    assert [len(f) for f in per_frame] == [2, 2, 2, 2]
    tracks = link(per_frame)
    assert len(tracks) == 2
    # same first frame: larger face first (grace hopper's face is ~130 px, the astronaut's ~90)
    for track, k in zip(tracks, (1, 0), strict=True):
        assert track.flags == [DETECTED] * 4
        centres = track.landmarks.mean(axis=1)  # (T, 2)
        portrait_centre = np.array([[256, 300], [128, 128]][k], float)
        moved = np.array([apply(m[k], portrait_centre[None])[0] for m in truth])
        assert np.allclose(centres - centres[0], moved - moved[0], atol=1.5)


@pytest.fixture(scope="module")
def gappy(astronaut_face):
    """8 frames of a drifting face, frames 3 and 4 blank: (per-frame faces, truth)."""
    motion = linear_motion(astronaut_face.shape[:2], (160, 150), 1.0, velocity=(4, 1))
    frames, truth = synth_sequence(astronaut_face, 8, (300, 400), motion)
    for t in (3, 4):
        frames[t] = np.full_like(frames[t], frames[t][0, 0])
    return [find_faces(to_uint8(f), upsample=0, refine_jitter=0) for f in frames], truth


def test_gap_is_bridged_and_flagged(gappy):
    per_frame, truth = gappy
    assert [len(f) for f in per_frame] == [1, 1, 1, 0, 0, 1, 1, 1]
    (track,) = link(per_frame, max_gap=2)
    assert track.flags == [DETECTED] * 3 + [INTERPOLATED] * 2 + [DETECTED] * 3
    assert np.isnan(track.scores[3:5]).all() and np.isfinite(track.scores[[0, 5]]).all()
    # linear motion: the interpolated landmarks are where the face would have been
    offset = track.landmarks[0] - apply(truth[0], np.zeros((1, 2)))
    for t in (3, 4):
        expected = apply(truth[t], np.zeros((1, 2))) + offset
        assert np.abs(track.landmarks[t] - expected).max() < 2.0


def test_longer_gap_is_no_face_but_keeps_the_id(gappy):
    per_frame, _ = gappy
    (track,) = link(per_frame, max_gap=1)
    assert track.flags == [DETECTED] * 3 + [NO_FACE] * 2 + [DETECTED] * 3
    assert np.isnan(track.landmarks[3:5]).all()
    assert track.runs() == [(0, 3), (5, 8)]
