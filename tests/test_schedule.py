"""The growth schedule: a pure, resumable function of images seen."""

from __future__ import annotations

import json

import pytest

from faceswap_vfx.errors import ParameterError
from faceswap_vfx.train.schedule import (
    ScheduleConfig,
    images_at,
    level_start,
    schedule,
    total_images,
)

CFG = ScheduleConfig(max_level=3, fade_images=100, stabilise_images=50)
# level 0: 0..49 stabilise; level 1: 50..149 fade, 150..199; level 2: 200..; level 3: 350..499


def test_phase_boundaries() -> None:
    assert schedule(0, CFG) == (0, 1.0)
    assert schedule(49, CFG) == (0, 1.0)
    assert schedule(50, CFG) == (1, 0.0)
    assert schedule(100, CFG) == (1, 0.5)
    assert schedule(149, CFG) == (1, 0.99)
    assert schedule(150, CFG) == (1, 1.0)
    assert schedule(199, CFG) == (1, 1.0)
    assert schedule(200, CFG) == (2, 0.0)
    assert [level_start(lv, CFG) for lv in range(4)] == [0, 50, 200, 350]
    assert total_images(CFG) == 500
    assert schedule(499, CFG) == (3, 1.0)
    assert schedule(10**12, CFG) == (3, 1.0)  # capped at the last level
    with pytest.raises(ValueError):
        schedule(-1, CFG)


def test_monotone_continuous_and_linear_fades() -> None:
    seq = [schedule(n, CFG) for n in range(total_images(CFG) + 20)]
    for n in range(1, len(seq)):
        (l0, a0), (l1, a1) = seq[n - 1], seq[n]
        assert (l1, a1) >= (l0, a0)  # lexicographic: never goes back
        if l1 != l0:  # a new level starts where the old one was fully faded in
            assert (l1 - l0, a0, a1) == (1, 1.0, 0.0), n
        else:
            assert a1 - a0 <= 1 / 100 + 1e-12, n  # alpha moves at most 1/fade per image
    for level in (1, 2, 3):
        start = level_start(level, CFG)
        alphas = [a for n, (lv, a) in enumerate(seq) if lv == level and start <= n < start + 100]
        assert alphas == pytest.approx([k / 100 for k in range(100)], abs=1e-12)
        assert all(a == 1.0 for n, (lv, a) in enumerate(seq) if lv == level and n >= start + 100)


def test_per_level_lengths_and_zero_fade() -> None:
    cfg = ScheduleConfig(max_level=2, fade_images=(0, 10, 0), stabilise_images=(5, 0, 7))
    assert [level_start(lv, cfg) for lv in range(3)] == [0, 5, 15]
    assert schedule(4, cfg) == (0, 1.0)
    assert schedule(5, cfg) == (1, 0.0)
    assert schedule(14, cfg) == (1, 0.9)
    assert schedule(15, cfg) == (2, 1.0)  # no fade: straight in at alpha 1
    assert images_at(2, 0.0, cfg) == images_at(2, 1.0, cfg) == 15


def test_images_at_inverts_schedule() -> None:
    for n in range(total_images(CFG) + 10):
        level, alpha = schedule(n, CFG)
        m = images_at(level, alpha, CFG)
        assert m <= n and schedule(m, CFG) == (level, alpha), n
        if 0.0 < alpha < 1.0 or (alpha == 0.0 and level > 0):
            assert m == n, n
    assert images_at(2, 0.5, CFG) == 250
    big = ScheduleConfig(max_level=8, fade_images=10**9 + 7, stabilise_images=3)
    for n in (level_start(8, big) + k for k in (1, 12345, 10**9 + 6)):
        assert images_at(*schedule(n, big), big) == n


def test_resume_gives_the_same_sequence() -> None:
    batch = 7
    run = [(n, schedule(n, CFG)) for n in range(0, total_images(CFG) + batch, batch)]
    for stop in (3, 20, 51):  # "crash" after `stop` steps, reload the config from JSON
        images_seen = run[stop][0]
        cfg = ScheduleConfig.from_dict(json.loads(json.dumps(CFG.to_dict())))
        resumed = [(n, schedule(n, cfg)) for n in range(images_seen, run[-1][0] + 1, batch)]
        assert resumed == run[stop:]


def test_config_json_round_trip_with_tuples() -> None:
    cfg = ScheduleConfig(max_level=1, fade_images=(0, 4), stabilise_images=(2, 3))
    back = ScheduleConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert back == cfg and back.fade_images == (0, 4)


@pytest.mark.parametrize("bad", [
    {"max_level": 9}, {"max_level": -1}, {"fade_images": -1}, {"stabilise_images": 1.5},
    {"fade_images": (0, 1)}, {"fade_images": (1, 1, 1, 1)}, {"stabilise_images": True},
])
def test_config_rejects(bad: dict) -> None:
    with pytest.raises(ParameterError):
        ScheduleConfig(**{"max_level": 3, **bad})
    with pytest.raises(ParameterError, match="unknown"):
        ScheduleConfig.from_dict({"max_level": 3, "batch": 4})
