"""Frame patterns and ranges."""

from pathlib import Path

import pytest

from faceswap_vfx.errors import MissingFrameError, NoFramesError, PatternError
from faceswap_vfx.io.sequence import FramePattern, ImageSequence, format_frames, parse_frames


@pytest.mark.parametrize(("text", "frames"), [
    ("1001-1005", [1001, 1002, 1003, 1004, 1005]),
    ("1001-1010x3", [1001, 1004, 1007, 1010]),
    ("1001-1003,1010,1020-1022", [1001, 1002, 1003, 1010, 1020, 1021, 1022]),
    ("7", [7]),
    ("-3--1", [-3, -2, -1]),
    ("5,3,5,1-2", [1, 2, 3, 5]),
])
def test_parse_frames(text, frames):
    assert parse_frames(text) == frames


@pytest.mark.parametrize("text", ["", "a-b", "1001-", "1005-1001", "1-10x0", "1..5"])
def test_bad_frame_ranges_are_named(text):
    with pytest.raises(PatternError, match="frame range"):
        parse_frames(text)


def test_format_frames_round_trips():
    frames = [1, 2, 3, 5, 7, 8, 10]
    assert format_frames(frames) == "1-3,5,7-8,10"
    assert parse_frames(format_frames(frames)) == frames


@pytest.mark.parametrize("pattern", ["shot/plate.####.exr", "shot/plate.%04d.exr",
                                     "shot/plate.$F4.exr"])
def test_pattern_styles_name_the_same_file(pattern):
    fp = FramePattern.parse(pattern)
    assert fp.path(1001) == Path("shot/plate.1001.exr")
    assert fp.path(7) == Path("shot/plate.0007.exr")
    assert fp.path(-7) == Path("shot/plate.-0007.exr")
    assert fp.printf == "shot/plate.%04d.exr"


def test_unpadded_patterns():
    assert FramePattern.parse("p.$F.exr").path(7) == Path("p.7.exr")
    assert FramePattern.parse("p.%d.exr").path(12) == Path("p.12.exr")
    assert FramePattern.parse("p.#.exr").path(12345) == Path("p.12345.exr")


def test_two_tokens_is_an_error():
    with pytest.raises(PatternError, match="more than one"):
        FramePattern.parse("p.####.%04d.exr")


def _touch(folder, frames, name="plate.{:04d}.exr"):
    for f in frames:
        (folder / name.format(f)).write_bytes(b"")


def test_find_reports_missing_frames(tmp_path):
    _touch(tmp_path, [1001, 1002, 1004, 1007])
    (tmp_path / "plate.1003.exr.tmp").write_bytes(b"")  # not a frame
    (tmp_path / "plate.103.exr").write_bytes(b"")  # wrong padding: not this sequence
    seq = ImageSequence.find(tmp_path / "plate.####.exr")
    assert seq.frames == [1001, 1002, 1004, 1007]
    assert seq.missing == [1003, 1005, 1006]
    with pytest.raises(MissingFrameError, match="frame 1003") as err:
        seq.require_complete()
    assert err.value.frame == 1003 and err.value.path.endswith("plate.1003.exr")


def test_find_with_frames_asked(tmp_path):
    _touch(tmp_path, range(1001, 1011))
    seq = ImageSequence.find(str(tmp_path / "plate.%04d.exr"), "1005-1014x3")
    assert seq.frames == [1005, 1008]
    assert seq.missing == [1011, 1014]


def test_pattern_matching_nothing_names_the_pattern(tmp_path):
    with pytest.raises(NoFramesError, match="no file matches") as err:
        ImageSequence.find(tmp_path / "plate.####.exr")
    assert "plate.####.exr" in str(err.value)
    _touch(tmp_path, [1])
    with pytest.raises(NoFramesError, match="for frames 5-6"):
        ImageSequence.find(tmp_path / "plate.####.exr", "5-6")


def test_single_file(tmp_path):
    (tmp_path / "still.exr").write_bytes(b"")
    seq = ImageSequence.find(tmp_path / "still.exr")
    assert seq.frames == [0] and seq.path(0) == tmp_path / "still.exr"
