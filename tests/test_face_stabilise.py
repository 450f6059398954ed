"""Stabilisation: zero-phase smoothing (exact on steady motion, no lag) and less jitter."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from faceswap_vfx.face.find import find_faces
from faceswap_vfx.face.stabilise import smooth, smooth_track
from faceswap_vfx.face.track import DETECTED, NO_FACE, Track
from faceswap_vfx.samples.plates import linear_motion, synth_sequence, to_uint8


def _jitter(series: np.ndarray) -> float:
    """RMS frame-to-frame landmark motion, px: series (T, 68, 2)."""
    return float(np.sqrt(np.mean(np.sum(np.diff(series, axis=0) ** 2, axis=-1))))


@pytest.mark.parametrize("n", [3, 5, 12, 40])
def test_steady_motion_passes_exactly_to_the_ends(n):
    t = np.arange(n, dtype=np.float64)[:, None, None]
    line = 3.0 + 1.7 * t + np.zeros((1, 68, 2))
    assert np.allclose(smooth(line, 0.1), line, atol=1e-9)


def test_short_series_and_off():
    x = np.random.default_rng(0).normal(size=(2, 68, 2))
    assert np.array_equal(smooth(x, 0.2), x) and np.array_equal(smooth(x[:1], 0.2), x[:1])
    y = np.random.default_rng(1).normal(size=(20, 3))
    assert np.array_equal(smooth(y, 0.5), y)
    with pytest.raises(ValueError, match="non-finite"):
        smooth(np.full((5, 2), np.nan))


def test_zero_phase_where_a_causal_filter_lags():
    t = np.arange(120, dtype=np.float64)
    slow = 10 * np.sin(2 * np.pi * 0.02 * t)[:, None]
    noisy = slow + np.random.default_rng(2).normal(0, 0.5, slow.shape)
    out = smooth(noisy, 0.2)
    b, a = signal.butter(2, 0.4)
    causal = signal.lfilter(b, a, noisy, axis=0)

    def lag(y):  # frames by which y trails the clean signal (cross-correlation peak)
        core = slice(20, 100)
        return max(range(-5, 6),
                   key=lambda k: np.dot(y[core, 0], slow[core.start - k:core.stop - k, 0]))

    assert lag(out) == 0 and lag(causal) >= 1
    def rms(y):
        return np.sqrt(np.mean((y - slow)[10:] ** 2))

    assert rms(out) < 0.7 * 0.5 and rms(causal) > 0.5  # less noise; the lag is an error
    assert np.abs(out - slow)[[0, -1]].max() < 0.5  # the ends too


def test_smooth_track_stops_at_gaps():
    n = 10
    lms = np.zeros((n, 68, 2))
    lms[:5] = 0.0
    lms[5:] = 100.0  # a different place after the gap: must not be pulled towards it
    flags = [DETECTED] * 4 + [NO_FACE] + [DETECTED] * 5
    lms[4] = np.nan
    track = Track(0, lms, np.zeros((n, 4)), np.ones(n), flags)
    out = smooth_track(track, 0.1)
    assert np.allclose(out.landmarks[:4], 0.0) and np.allclose(out.landmarks[5:], 100.0)
    assert np.isnan(out.landmarks[4]).all() and out.flags == flags


def _faces(frames, refine_jitter):
    lms = [find_faces(to_uint8(f), upsample=0, refine_jitter=refine_jitter) for f in frames]
    assert all(len(f) == 1 for f in lms)
    return np.stack([f[0].landmarks for f in lms])


def test_stabilised_static_face_jitters_less(astronaut_face):
    frames, _ = synth_sequence(astronaut_face, 12, (280, 280), "static", noise=0.01, seed=3)
    raw = _faces(frames, None)
    stable = smooth(_faces(frames, 4), 0.2)
    assert _jitter(stable) < _jitter(raw) / 3
    assert np.abs(stable.mean(axis=0) - raw.mean(axis=0)).mean() < 1.0  # same place


def test_stabilised_moving_face_does_not_lag(astronaut_face):
    velocity = np.array([2.5, 1.0])
    motion = linear_motion(astronaut_face.shape[:2], (140, 140), velocity=velocity)
    frames, _ = synth_sequence(astronaut_face, 12, (280, 320), motion, noise=0.005, seed=4)
    raw = _faces(frames, None)
    stable = smooth(_faces(frames, 4), 0.2)
    along = (stable - raw).reshape(-1, 2) @ (velocity / np.linalg.norm(velocity))
    assert abs(along.mean()) < 0.5  # px: a lag of one frame would be 2.7 px
    steps = np.diff(stable.mean(axis=1), axis=0)  # the face's own motion, px/frame
    assert np.allclose(steps, velocity, atol=0.3)
