"""``faceswap-vfx plates info`` and ``plates sample`` on real generated EXR sequences."""

import json

import numpy as np
import pytest
from exr_fixtures import write_sequence

from faceswap_vfx.cli.main import main
from faceswap_vfx.io.image import read_image


def run_json(capsys, *argv):
    code = main(list(argv))
    return code, json.loads(capsys.readouterr().out)


def test_info_reports_a_generated_plate(tmp_path, capsys):
    pattern = write_sequence(tmp_path, [1001, 1002, 1003, 1005])
    code, info = run_json(capsys, "plates", "info", pattern, "--json")
    assert code == 0
    assert info["frames"] == "1001-1003,1005" and info["frame_count"] == 4
    assert info["missing"] == [1004]
    part = info["parts"][0]
    assert part["resolution"] == [296, 164]
    assert part["data_window"] == {"x": 12, "y": 7, "width": 256, "height": 144}
    assert part["display_window"] == {"x": 0, "y": 0, "width": 296, "height": 164}
    assert [(c["name"], c["type"]) for c in part["channels"]] == [
        ("R", "half"), ("G", "half"), ("B", "half"), ("A", "half"), ("Z", "float"),
        ("mask.r", "half")]
    assert part["compression"] == "zip"
    assert info["plate_colorspace"] == "scene_linear"


def test_info_text_for_people(tmp_path, capsys):
    pattern = write_sequence(tmp_path, [7, 9], compression="piz")
    assert main(["plates", "info", pattern, "--plate-colorspace", "ACEScg"]) == 0
    text = capsys.readouterr().out
    assert "missing      8" in text and "piz" in text and "Z (float)" in text
    assert "colour space ACEScg" in text and "296x164" in text


def test_info_names_unreadable_frames_and_exits_non_zero(tmp_path, capsys):
    pattern = write_sequence(tmp_path, [1, 2, 3])
    (tmp_path / "plate.0002.exr").write_bytes(b"\x76\x2f\x31\x01 truncated")
    code, info = run_json(capsys, "plates", "info", pattern, "--json")
    assert code == 1
    assert [u["frame"] for u in info["unreadable"]] == [2]
    assert "plate.0002.exr" in info["unreadable"][0]["error"]


def test_info_check_reads_pixels(tmp_path, capsys):
    pattern = write_sequence(tmp_path, [1, 2], compression="none")
    data = (tmp_path / "plate.0002.exr").read_bytes()
    (tmp_path / "plate.0002.exr").write_bytes(data[: int(len(data) * 0.97)])
    code, info = run_json(capsys, "plates", "info", pattern, "--json", "--check")
    assert code == 1 and [u["frame"] for u in info["unreadable"]] == [2]


def test_info_on_nothing_is_a_named_error(tmp_path, capsys):
    assert main(["plates", "info", str(tmp_path / "nope.####.exr")]) == 1
    assert "no file matches" in capsys.readouterr().err


def test_sample_plate_is_scene_linear_with_known_motion(tmp_path, capsys):
    out = tmp_path / "sample"
    assert main(["plates", "sample", "--out", str(out), "--frames", "1001-1003",
                 "--size", "256x144"]) == 0
    capsys.readouterr()
    code, info = run_json(capsys, "plates", "info", str(out / "plate.####.exr"), "--json")
    assert code == 0 and info["frames"] == "1001-1003"
    part = info["parts"][0]
    assert part["resolution"] == [256, 144] and part["data_window"] != part["display_window"]
    assert {c["name"] for c in part["channels"]} == {"R", "G", "B", "A", "Z", "mask.r"}
    truth = json.loads((out / "truth.json").read_text())
    assert sorted(truth["plate_from_portrait"]) == ["1001", "1002", "1003"]
    m1, m2 = (np.array(truth["plate_from_portrait"][f]) for f in ("1001", "1002"))
    assert np.linalg.norm(m2[:2, 2] - m1[:2, 2]) > 0.5  # it moves
    # the plain background is linear 18% grey (ACEScg), not an sRGB-encoded 0.46
    corner = read_image(out / "plate.1001.exr").part.rgb()[:5, :5]
    assert corner.mean() == pytest.approx(0.18, abs=0.01)
