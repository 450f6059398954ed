"""Alignment file -> FaceAlign / FaceUnalign Transform animation, checked in Nuke's own
frame: points converted to bottom-left origin by hand, moved by a Transform built from the
baked knobs the way Nuke builds it, and compared with the alignment file's matrices."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from faceswap_vfx.cli.main import main
from faceswap_vfx.core.geometry import apply, invert
from faceswap_vfx.errors import NoFaceError, TrackError
from faceswap_vfx.face.align_file import Alignment, FaceEntry, save_alignment
from faceswap_vfx.nuke.align import TransformKnobs, bake, transform_knobs
from faceswap_vfx.nuke.tcl import curve_values, items, parse_script

PLATE_W, PLATE_H, CROP = 400, 320, 64
FRAMES = [1001, 1002, 1003, 1004, 1005, 1007]  # 1006 not aligned (missing on disk)
NO_FACE_AT = 1003


def similarity(angle_deg: float, scale: float, tx: float, ty: float) -> np.ndarray:
    c, s = math.cos(math.radians(angle_deg)), math.sin(math.radians(angle_deg))
    return np.array([[scale * c, -scale * s, tx], [scale * s, scale * c, ty], [0, 0, 1.0]])


def plate_from_crop(frame: int) -> np.ndarray:
    """A face turning through 180 degrees (so the rotation must be unwrapped), growing and
    drifting; top-left origin, as in the alignment file."""
    i = FRAMES.index(frame)
    return similarity(150.0 + 12.0 * i, 1.5 + 0.05 * i, 120.0 + 7.0 * i, 60.0 + 3.0 * i)


def alignment(second_track: bool = False) -> Alignment:
    crop_points = np.random.default_rng(0).uniform(0, CROP, (68, 2))
    faces = {}
    for frame in FRAMES:
        m = plate_from_crop(frame)
        entry = (FaceEntry(0, "no_face") if frame == NO_FACE_AT else
                 FaceEntry(0, "detected", apply(m, crop_points), m, 1.0))
        faces[frame] = [entry]
        if second_track:
            faces[frame].append(FaceEntry(1, "detected", apply(m, crop_points) + 5, m, 1.0))
    tracks = [{"id": 0, "kept": True, "median_size": 90.0}]
    if second_track:
        tracks.append({"id": 1, "kept": True, "median_size": 40.0})
    return Alignment("plate.%04d.exr", (PLATE_W, PLATE_H), FRAMES, CROP, 0.35, faces,
                     missing=[1006], tracks=tracks)


def baked_knobs(scripts: dict[str, str]) -> dict[int, TransformKnobs]:
    """Per frame, the Transform the gizmo's knobs make (read back with the TCL reader)."""
    node = parse_script("NoOp {\n" + "".join(f" {k} {{{v}}}\n" for k, v in scripts.items())
                        + "}\n").nodes[0]
    curves = {k: [curve_values(item) for item in items(node.value(k))] for k in
              ("face_translate", "face_rotate", "face_scale", "face_present")}
    tx, ty = curves["face_translate"]
    return {f: TransformKnobs((tx[f], ty[f]), curves["face_rotate"][0][f],
                              curves["face_scale"][0][f]) for f in tx}


def nuke_transform(knobs: TransformKnobs, points: np.ndarray) -> np.ndarray:
    """Nuke's Transform (center 0 0, no skew): scale, rotate counter-clockwise, translate."""
    a = math.radians(knobs.rotate)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    return points * knobs.scale @ rot.T + np.array(knobs.translate)


def to_bottom_left(points: np.ndarray, height: float) -> np.ndarray:
    return np.column_stack([points[:, 0], height - points[:, 1]])


def test_face_align_maps_plate_points_onto_the_crop_in_nuke_coordinates():
    scripts = bake(alignment(), "largest", "align")
    probe = np.array([[0.0, 0.0], [200.5, 100.25], [399.0, 319.0], [37.0, 250.0]])
    for frame, knobs in baked_knobs(scripts).items():
        if frame == NO_FACE_AT:
            continue
        crop_nuke = nuke_transform(knobs, to_bottom_left(probe, PLATE_H))
        want = apply(invert(plate_from_crop(frame)), probe)  # crop px, top-left origin
        assert np.abs(to_bottom_left(crop_nuke, CROP) - want).max() < 1e-5, frame
    assert (scripts["out_width"], scripts["out_height"]) == (str(CROP), str(CROP))


def test_face_unalign_maps_crop_points_back_onto_the_plate():
    scripts = bake(alignment(), "0", "unalign")
    probe = np.array([[0.0, 0.0], [32.0, 10.5], [63.0, 63.0]])
    for frame, knobs in baked_knobs(scripts).items():
        if frame == NO_FACE_AT:
            continue
        plate_nuke = nuke_transform(knobs, to_bottom_left(probe, CROP))
        want = apply(plate_from_crop(frame), probe)
        assert np.abs(to_bottom_left(plate_nuke, PLATE_H) - want).max() < 1e-5, frame
    assert (scripts["out_width"], scripts["out_height"]) == (str(PLATE_W), str(PLATE_H))


def test_frames_without_a_face_hold_the_nearest_and_are_marked():
    scripts = bake(alignment(), "largest", "align")
    present = curve_values(scripts["face_present"][1:-1])
    assert present == {f: float(f != NO_FACE_AT) for f in FRAMES}
    knobs = baked_knobs(scripts)
    assert knobs[NO_FACE_AT] == knobs[NO_FACE_AT - 1]  # tie between 1002 and 1004: earlier
    assert " x1007 " in scripts["face_scale"]  # a key after the gap at 1006


def test_rotation_is_unwrapped_across_180_degrees():
    rotations = [k.rotate for _, k in sorted(baked_knobs(bake(alignment())).items())]
    assert max(abs(b - a) for a, b in zip(rotations, rotations[1:], strict=False)) < 30
    assert max(rotations) - min(rotations) > 30  # it really turns, through +-180


def test_one_track_is_required():
    with pytest.raises(TrackError, match="follow one"):
        bake(alignment(second_track=True), "all")
    with pytest.raises(TrackError):
        bake(alignment(), "7")
    assert bake(alignment(second_track=True), "largest") == bake(alignment(), "0")


def test_a_track_without_faces_is_an_error():
    a = alignment()
    for frame in FRAMES:
        a.faces[frame] = [FaceEntry(0, "no_face")]
    with pytest.raises(NoFaceError):
        bake(a)


def test_transform_knobs_round_trip_and_refuse_a_shear():
    knobs = TransformKnobs((12.5, -3.0), 171.0, 0.75)
    back = transform_knobs(knobs.matrix())
    assert np.allclose(back.translate, knobs.translate) and math.isclose(back.scale, 0.75)
    assert math.isclose(back.rotate, 171.0)
    sheared = knobs.matrix() @ np.array([[1, 0.2, 0], [0, 1, 0], [0, 0, 1.0]])
    with pytest.raises(ValueError, match="not a similarity"):
        transform_knobs(sheared)


def test_cli_bake_prints_the_knob_scripts(tmp_path, capsys):
    path = tmp_path / "shot.align.json"
    save_alignment(alignment(), path)
    capsys.readouterr()
    assert main(["gizmos", "bake", str(path), "--direction", "unalign", "--track", "0"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed.keys() == bake(alignment(), "0", "unalign").keys()
    assert baked_knobs(printed).keys() == set(FRAMES)
