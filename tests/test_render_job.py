"""``faceswap-vfx render`` end to end on a generated EXR plate sequence with extra channels
and metadata: real dlib alignment, a real (tiny, untrained) comb network exported to
TorchScript, real OpenImageIO files."""

import shutil

import numpy as np

from faceswap_vfx.cli.main import main
from faceswap_vfx.face.align_file import load_alignment, save_alignment
from faceswap_vfx.io.image import read_image
from faceswap_vfx.render.frame import MASK_CHANNEL
from faceswap_vfx.render.nodes import IDENTITY, STATUS

FRAMES = range(1001, 1009)
NO_FACE_FRAME = 1005  # the face_plate fixture blanks this frame


def bits(a):
    return a.view(np.dtype(f"u{a.dtype.itemsize}"))


def render(shot, out, *extra):
    return main(["render", "--plates", shot["plates"], "--model", shot["model"],
                 "--identity", "grace", "--align", shot["align"], "--out", str(out), *extra])


def test_render_changes_only_the_face(shot, tmp_path, capsys):
    out = tmp_path / "swap.####.exr"
    assert render(shot, out) == 0
    text = capsys.readouterr().out
    assert "Progress: 100%" in text and "8 written" in text and "1 without a face" in text
    for frame in FRAMES:
        plate = read_image(shot["plates"].replace("####", str(frame))).part
        result = read_image(str(out).replace("####", str(frame))).part
        alpha = result.channels[MASK_CHANNEL].astype(np.float32)
        outside = alpha == 0
        for name in ("R", "G", "B"):
            np.testing.assert_array_equal(bits(result.channels[name])[outside],
                                          bits(plate.channels[name])[outside])
        for name in ("A", "Z", "spec.r"):
            np.testing.assert_array_equal(bits(result.channels[name]), bits(plate.channels[name]))
        assert result.attribute("camera:focal") == 35.0
        assert result.data_window == plate.data_window
        assert result.attribute(IDENTITY) == "grace"
        if frame == NO_FACE_FRAME:
            assert result.attribute(STATUS) == "no face" and alpha.max() == 0
        else:
            assert result.attribute(STATUS) == "swapped"
            assert alpha.max() == 1.0 and (alpha > 0).sum() > 1000
            inside = alpha > 0.99
            change = np.abs(result.channels["G"].astype(np.float32)
                            - plate.channels["G"].astype(np.float32))[inside]
            assert change.mean() > 1e-3  # an untrained network does not give the plate back


def test_a_corrupt_frame_fails_alone(shot, tmp_path, capsys):
    plates = tmp_path / "plates"
    shutil.copytree(shot["root"] / "plates", plates)
    (plates / "plate.1003.exr").write_bytes(b"\x76\x2f\x31\x01 cut short")
    out = tmp_path / "out" / "swap.####.exr"
    code = main(["render", "--plates", str(plates / "plate.####.exr"), "--model", shot["model"],
                 "--identity", "grace", "--align", shot["align"], "--out", str(out)])
    assert code == 1
    assert "1 failed: frames 1003" in capsys.readouterr().out
    written = sorted(p.name for p in out.parent.iterdir())
    assert written == [f"swap.{f}.exr" for f in FRAMES if f != 1003]


def test_killed_half_way_then_rerun_equals_one_run(shot, tmp_path, capsys):
    whole, parts = tmp_path / "whole" / "s.####.exr", tmp_path / "parts" / "s.####.exr"
    assert render(shot, whole) == 0
    assert render(shot, parts, "--frames", "1001-1003") == 0  # the run that was killed
    (parts.parent / ".s.1004.x.tmp.exr").write_bytes(b"half a frame")  # what it left
    assert render(shot, parts) == 0
    assert "3 skipped" in capsys.readouterr().out
    for frame in FRAMES:
        a = read_image(str(whole).replace("####", str(frame))).part
        b = read_image(str(parts).replace("####", str(frame))).part
        for name in a.channels:
            np.testing.assert_array_equal(bits(a.channels[name]), bits(b.channels[name]))


def test_existing_frames_are_skipped_unless_overwrite(shot, tmp_path, capsys):
    out = tmp_path / "s.####.exr"
    assert render(shot, out, "--frames", "1001-1002") == 0
    stamp = (tmp_path / "s.1001.exr").stat().st_mtime_ns
    assert render(shot, out, "--frames", "1001-1002") == 0
    assert "2 skipped" in capsys.readouterr().out
    assert (tmp_path / "s.1001.exr").stat().st_mtime_ns == stamp
    assert render(shot, out, "--frames", "1001-1002", "--overwrite") == 0
    assert "2 written" in capsys.readouterr().out


def test_unknown_identity_is_named(shot, tmp_path, capsys):
    code = main(["render", "--plates", shot["plates"], "--model", shot["model"], "--identity",
                 "nobody", "--align", shot["align"], "--out", str(tmp_path / "s.####.exr")])
    assert code == 1
    err = capsys.readouterr().err
    assert "no identity 'nobody'" in err and "grace.pt" in err


def test_alignment_for_another_plate_is_refused(shot, tmp_path, capsys):
    alignment = load_alignment(shot["align"])
    alignment.size = (1920, 1080)
    save_alignment(alignment, tmp_path / "other.align.json")
    code = main(["render", "--plates", shot["plates"], "--model", shot["model"], "--identity",
                 "grace", "--align", str(tmp_path / "other.align.json"),
                 "--out", str(tmp_path / "s.####.exr")])
    assert code == 1 and "1920x1080" in capsys.readouterr().err


def test_unwritable_output_is_named_before_any_work(shot, tmp_path, capsys):
    (tmp_path / "file").write_text("not a folder")
    assert render(shot, tmp_path / "file" / "s.####.exr") == 1
    assert "cannot create output folder" in capsys.readouterr().err


def test_a_truncated_output_whose_header_reads_is_rendered_again(shot, tmp_path, capsys):
    """"Already done" means complete: a frame cut short (a full disk, a broken copy) keeps a
    readable header; its missing chunks send it back to be rendered."""
    out = tmp_path / "s.####.exr"
    assert render(shot, out, "--frames", "1001-1002") == 0
    whole = (tmp_path / "s.1001.exr").read_bytes()
    (tmp_path / "s.1001.exr").write_bytes(whole[:len(whole) * 9 // 10])
    from faceswap_vfx.io.image import read_header

    read_header(tmp_path / "s.1001.exr")  # the header still reads
    capsys.readouterr()
    assert render(shot, out, "--frames", "1001-1002") == 0
    assert "1 written, 1 skipped" in capsys.readouterr().out
    assert (tmp_path / "s.1001.exr").read_bytes() == whole


def test_temporary_files_of_a_killed_run_are_removed_on_the_next_run(shot, tmp_path):
    import os
    import subprocess
    import time

    from faceswap_vfx.io import atomic

    dead = subprocess.Popen(["true"])
    dead.wait()
    left = {  # what killed runs left, and one of a render still running elsewhere
        "this host, dead": f".s.1001.{atomic._HOST}-{dead.pid}.abc.tmp.exr",
        "this host, alive": f".s.1001.{atomic._HOST}-{os.getpid()}.def.tmp.exr",
        "other host, old": ".s.1002.farm_node_7-4242.ghi.tmp.exr",
        "other host, recent": ".s.1002.farm_node_8-4242.jkl.tmp.exr",
    }
    for name in left.values():
        (tmp_path / name).write_bytes(b"half a frame")
    old = time.time() - 2 * atomic.STALE_SECONDS
    os.utime(tmp_path / left["other host, old"], (old, old))
    assert render(shot, tmp_path / "s.####.exr", "--frames", "1001-1002") == 0
    kept = {p.name for p in tmp_path.glob(".*")}
    assert kept == {left["this host, alive"], left["other host, recent"]}
