"""The alignment file: written, read back, versioned; errors name the file."""

from __future__ import annotations

import json

import numpy as np
import pytest

from faceswap_vfx.errors import AlignFileError
from faceswap_vfx.face.align_file import (
    ALIGN_FORMAT,
    ALIGN_VERSION,
    Alignment,
    FaceEntry,
    load_alignment,
    save_alignment,
    to_json,
)


def _alignment() -> Alignment:
    rng = np.random.default_rng(0)
    m = np.array([[0.5, -0.1, 100.25], [0.1, 0.5, 50.5], [0, 0, 1]])
    faces = {
        1001: [FaceEntry(0, "detected", rng.random((68, 2)) * 300, m, 1.25),
               FaceEntry(2, "no_face")],
        1003: [FaceEntry(0, "interpolated", rng.random((68, 2)) * 300, m, None),
               FaceEntry(2, "detected", rng.random((68, 2)) * 300, m, 0.5)],
    }
    return Alignment("plate.%04d.exr", (400, 320), [1001, 1003], 256, 0.35, faces,
                     missing=[1002], tracks=[{"id": 0, "kept": True}], params={"max_gap": 5})


def test_round_trip(tmp_path):
    a = _alignment()
    path = tmp_path / "shot.align.json"
    save_alignment(a, path)
    b = load_alignment(path)
    assert (b.pattern, b.size, b.frames, b.missing) == ("plate.%04d.exr", (400, 320),
                                                        [1001, 1003], [1002])
    assert (b.crop_size, b.crop_margin, b.params, b.track_ids) == (256, 0.35, {"max_gap": 5},
                                                                   [0, 2])
    for frame in a.frames:
        for ea, eb in zip(a.faces[frame], b.faces[frame], strict=True):
            assert (ea.track, ea.flag, ea.score) == (eb.track, eb.flag, eb.score)
            if ea.flag != "no_face":
                assert np.abs(ea.landmarks - eb.landmarks).max() <= 5e-5  # 0.0001 px
                assert np.allclose(ea.plate_from_crop, eb.plate_from_crop, atol=1e-10)
    assert b.entry(1001, 2).flag == "no_face" and b.entry(1003, 7).flag == "no_face"
    body = json.loads(path.read_text())
    assert body["format"] == ALIGN_FORMAT and body["version"] == ALIGN_VERSION
    face = body["frames"][0]["faces"][0]
    assert set(face) == {"track", "flag", "score", "crop_size", "landmarks", "plate_from_crop"}
    assert body["frames"][0]["faces"][1]["landmarks"] is None


def test_newer_version_is_refused_naming_the_file(tmp_path):
    body = to_json(_alignment())
    body["version"] = ALIGN_VERSION + 1
    path = tmp_path / "future.align.json"
    path.write_text(json.dumps(body))
    with pytest.raises(AlignFileError, match="version 2.*update") as info:
        load_alignment(path)
    assert info.value.path == str(path) and "future.align.json" in str(info.value)


@pytest.mark.parametrize("change, message", [
    (lambda b: b.update(format="faceswap_vfx.shot"), "not an alignment file"),
    (lambda b: b.update(version="1"), "no valid version"),
    (lambda b: b["frames"][0]["faces"][0].update(flag="found"), "unknown flag"),
    (lambda b: b["frames"][0]["faces"][0].update(landmarks=[[0, 0]] * 67), "landmarks"),
    (lambda b: b.pop("plate"), "malformed"),
])
def test_invalid_files_name_the_file(tmp_path, change, message):
    body = to_json(_alignment())
    change(body)
    path = tmp_path / "bad.align.json"
    path.write_text(json.dumps(body))
    with pytest.raises(AlignFileError, match=message):
        load_alignment(path)


def test_unreadable_files(tmp_path):
    with pytest.raises(AlignFileError, match="not found"):
        load_alignment(tmp_path / "none.json")
    (tmp_path / "text.json").write_text("{ not json")
    with pytest.raises(AlignFileError, match="not readable JSON"):
        load_alignment(tmp_path / "text.json")


def test_plate_check():
    a = _alignment()
    a.check_plate((400, 320))
    with pytest.raises(AlignFileError, match="400x320 plate, this plate is 1920x1080"):
        a.check_plate((1920, 1080), "plate.####.exr")
