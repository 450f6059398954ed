"""Synthetic plates: the known motion is where the portrait really lands."""

from __future__ import annotations

import numpy as np
import pytest

from faceswap_vfx.core.geometry import apply
from faceswap_vfx.samples import plates, portraits


def test_portraits_load_as_srgb_floats(astronaut, grace_hopper):
    assert astronaut.shape == (512, 512, 3) and grace_hopper.shape == (600, 512, 3)
    for image in (astronaut, grace_hopper):
        assert image.dtype == np.float32 and 0 <= image.min() and image.max() <= 1
    assert portraits.portrait("astronaut") is astronaut
    with pytest.raises(KeyError, match="astronaut"):
        portraits.portrait("lena")


def test_srgb_curve_round_trips_hdr():
    v = np.array([-0.5, -1e-4, 0.0, 0.002, 0.04045, 0.18, 1.0, 16.0], np.float32)
    assert np.allclose(plates.linear_to_srgb(plates.srgb_to_linear(v)), v, atol=1e-5)
    assert np.isclose(plates.srgb_to_linear(np.float32(0.5)), 0.21404, atol=1e-4)


def test_whole_pixel_placement_is_exact(astronaut_face):
    motion = plates.linear_motion(astronaut_face.shape[:2], (201, 150), velocity=(3, -2))
    frames, truth = plates.synth_sequence(astronaut_face, 2, (300, 400), motion)
    for t, (frame, m) in enumerate(zip(frames, truth, strict=True)):
        x0, y0 = 73 + 3 * t, 22 - 2 * t
        assert np.allclose(m[:2, 2], (x0, y0))
        assert np.allclose(frame[y0:y0 + 256, x0:x0 + 256], astronaut_face, atol=1e-5)


def test_known_motion_moves_a_dot_where_it_says():
    portrait = np.zeros((64, 64, 3), np.float32)
    portrait[20:24, 40:44] = 1.0  # a dot centred at (42, 22) in portrait px
    motion = plates.linear_motion((64, 64), (100.3, 80.6), scale=1.5, angle_deg=30.0)
    frames, truth = plates.synth_sequence(portrait, 1, (160, 200), motion, background=0.0)
    lin = plates.srgb_to_linear(frames[0])[..., 0]
    ys, xs = np.mgrid[0:160, 0:200] + 0.5
    found = np.array([(lin * xs).sum(), (lin * ys).sum()]) / lin.sum()
    assert np.allclose(found, apply(truth[0], np.array([[42.0, 22.0]]))[0], atol=0.05)


def test_noise_exposure_and_several_portraits(astronaut_face):
    kw = {"motion": ["static", "drift"], "scale": [0.5, 0.25]}
    a, ma = plates.synth_sequence([astronaut_face, astronaut_face], 2, (100, 120), noise=0.01,
                                  seed=5, **kw)
    b, _ = plates.synth_sequence([astronaut_face, astronaut_face], 2, (100, 120), noise=0.01,
                                 seed=5, **kw)
    assert ma[1].shape == (2, 3, 3) and np.allclose(ma[1][1, :2, 2] - ma[0][1, :2, 2], (1.5, 0.5))
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    bright, _ = plates.synth_sequence(astronaut_face, 1, (100, 120), exposure=1.0)
    dark, _ = plates.synth_sequence(astronaut_face, 1, (100, 120))
    assert np.allclose(plates.srgb_to_linear(bright[0]), 2 * plates.srgb_to_linear(dark[0]),
                       rtol=1e-4, atol=1e-6)
