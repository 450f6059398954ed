"""align and extract on a generated scene-linear EXR plate and on photos, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from faceswap_vfx.cli.main import main
from faceswap_vfx.core.geometry import apply, invert, plate_from_crop
from faceswap_vfx.face.align_file import load_alignment
from faceswap_vfx.face.find import find_faces
from faceswap_vfx.face.pipeline import align_sequence
from faceswap_vfx.io.image import Image, read_image, write_image
from faceswap_vfx.io.sequence import ImageSequence
from faceswap_vfx.samples.plates import to_uint8

PARAMS = {"detector_upsample": 0, "crop_size": 128}


@pytest.fixture(scope="module")
def reference(astronaut_face):
    """Landmarks (68, 2) of the untouched portrait, portrait px."""
    return find_faces(to_uint8(astronaut_face), upsample=0)[0].landmarks


@pytest.fixture(scope="module")
def aligned(face_plate, tmp_path_factory):
    """(alignment file path, Alignment) of ``face_plate`` made by the CLI."""
    pattern, _ = face_plate
    out = tmp_path_factory.mktemp("align") / "shot.align.json"
    assert main(["align", pattern, "--out", str(out), "--detector-upsample", "0",
                 "--crop-size", "128", "--max-gap", "2"]) == 0
    return out, load_alignment(out)


def test_align_recovers_the_known_motion(face_plate, aligned, reference):
    _, truth = face_plate
    _, alignment = aligned
    assert alignment.size == (400, 320) and alignment.frames == list(range(1001, 1009))
    assert alignment.track_ids == [0] and alignment.crop_size == 128
    flags = [alignment.entry(f, 0).flag for f in alignment.frames]
    assert flags == ["detected"] * 4 + ["interpolated"] + ["detected"] * 3
    expected_crop = plate_from_crop(reference, 128, alignment.crop_margin)  # portrait_from_crop
    corners = np.array([[0, 0], [128, 0], [0, 128], [128, 128]], float)
    for frame in alignment.frames:
        entry = alignment.entry(frame, 0)
        err = np.linalg.norm(entry.landmarks - apply(truth[frame], reference), axis=1)
        assert err.mean() < 0.6  # px; a half-pixel slip of either window would fail
        # the crop sits on the same part of the face in every frame (display-window px)
        found = apply(invert(truth[frame]) @ entry.plate_from_crop, corners)
        assert np.abs(found - apply(expected_crop, corners)).max() < 1.0
        assert entry.score is None if entry.flag == "interpolated" else entry.score > 0


def test_align_in_memory_and_track_errors(face_plate, capsys, tmp_path):
    pattern, _ = face_plate
    seq = ImageSequence.find(pattern, "1001-1003")
    ticks = []
    alignment = align_sequence(seq, PARAMS, lambda done, total: ticks.append((done, total)))
    assert ticks == [(1, 3), (2, 3), (3, 3)] and alignment.frames == [1001, 1002, 1003]
    code = main(["align", pattern, "--frames", "1001-1002", "--out", str(tmp_path / "a.json"),
                 "--detector-upsample", "0", "--track", "3"])
    assert code == 1 and "no track 3; tracks found: 0" in capsys.readouterr().err


def test_extract_from_plate_writes_the_dataset_contract(face_plate, aligned, tmp_path):
    pattern, _ = face_plate
    align_path, alignment = aligned
    out = tmp_path / "ds"
    assert main(["extract", pattern, "--identity", "astro", "--out", str(out),
                 "--resolution", "64", "--align", str(align_path)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert list(manifest) == ["format", "version", "identity", "resolution", "colorspace",
                              "items", "skipped"]
    assert (manifest["format"], manifest["version"], manifest["identity"]) == (
        "faceswap_vfx.dataset", 1, "astro")
    assert (manifest["resolution"], manifest["colorspace"]) == (64, "srgb_tx")
    assert [(s["frame"], s["reason"]) for s in manifest["skipped"]] == [(1005, "interpolated")]
    assert len(manifest["items"]) == 7
    item = manifest["items"][0]
    assert set(item) == {"image", "mask", "landmarks", "source"}
    assert set(item["source"]) == {"path", "frame", "plate_from_crop"}
    assert item["source"]["frame"] == 1001 and item["source"]["path"].endswith("plate.1001.exr")
    crop = read_image(out / item["image"]).parts[0]
    assert list(crop.channels) == ["R", "G", "B"] and crop.channels["R"].dtype == np.float16
    assert crop.shape == (64, 64) and 0.2 < crop.rgb().mean() < 0.8  # sRGB-encoded face
    mask = read_image(out / item["mask"]).parts[0]
    assert len(mask.channels) == 1 and mask.shape == (64, 64)
    values = next(iter(mask.channels.values()))
    assert values.dtype == np.uint8 and set(np.unique(values)) == {0, 255}
    lms = np.array(item["landmarks"])
    m = np.array(item["source"]["plate_from_crop"])
    assert np.allclose(apply(m, lms), alignment.entry(1001, 0).landmarks, atol=1e-3)
    assert lms.shape == (68, 2) and lms.min() > 0 and lms.max() < 64
    x, y = lms[30].astype(int)
    assert values[y, x] == 255 and values[0, 0] == 0  # nose tip inside the mask, corner out
    assert read_image(out / "contact_sheet.png").parts[0].shape[0] > 64
    from faceswap_vfx.train.manifest import read_manifest  # the training side's reader

    assert len(read_manifest(out).items) == 7


def test_extract_from_photos_lists_photos_without_faces(astronaut, tmp_path, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    write_image(Image.from_array(astronaut, dtype=np.uint8), photos / "eileen.png")
    write_image(Image.from_array(np.full((40, 40, 3), 0.5, np.float32), dtype=np.uint8),
                photos / "wall.jpg")
    out = tmp_path / "ds"
    assert main(["extract", str(photos), "--identity", "collins", "--out", str(out),
                 "--resolution", "32", "--detector-upsample", "0", "--refine-jitter", "0"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert [i["image"] for i in manifest["items"]] == ["crops/eileen.exr"]
    assert manifest["items"][0]["source"]["frame"] is None
    assert manifest["skipped"] == [{"source": str((photos / "wall.jpg").resolve()),
                                    "frame": None, "reason": "no face"}]
    assert "skipped (no face)" in capsys.readouterr().out
    code = main(["extract", str(photos), "--identity", "someone_else", "--out", str(out),
                 "--resolution", "32"])
    assert code == 1 and "already holds identity 'collins'" in capsys.readouterr().err


def test_a_plate_without_faces_is_not_an_error(tmp_path, capsys):
    for frame in (1, 2):
        write_image(Image.from_array(np.full((48, 64, 3), 0.18, np.float32), dtype=np.float16),
                    tmp_path / f"empty.{frame:04d}.exr")
    out = tmp_path / "empty.align.json"
    assert main(["align", str(tmp_path / "empty.####.exr"), "--out", str(out)]) == 0
    assert "no face in 2 frame(s): 1-2" in capsys.readouterr().out
    alignment = load_alignment(out)
    assert alignment.frames == [1, 2] and alignment.faces == {1: [], 2: []}
    assert alignment.size == (64, 48) and alignment.tracks == []


@pytest.mark.parametrize("command", ["align", "extract"])
def test_help_has_an_example(command, capsys):
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    text = capsys.readouterr().out
    assert info.value.code == 0 and "example:" in text and f"faceswap-vfx {command} " in text
    assert "--smooth-cutoff" in text and "--plate-colorspace" in text


def test_extract_with_an_alignment_file_takes_the_track_asked_for(face_plate, aligned,
                                                                  tmp_path):
    """An alignment file kept with --track all holds several tracks: extract's --track picks
    among them (largest by default), as align does."""
    import dataclasses

    from faceswap_vfx.face.align_file import save_alignment

    pattern, _ = face_plate
    _, alignment = aligned
    half = np.diag([0.5, 0.5, 1.0])  # a second, smaller face: half the crop, top-left
    faces = {f: entries + [dataclasses.replace(e, track=7, landmarks=apply(half, e.landmarks),
                                               plate_from_crop=half @ e.plate_from_crop)
                           for e in entries]
             for f, entries in alignment.faces.items()}
    two = dataclasses.replace(alignment, faces=faces)
    assert two.track_ids == [0, 7] and two.select_tracks("largest") == [0]
    path = tmp_path / "two.align.json"
    save_alignment(two, path)

    def frames_of(track: str) -> list[str]:
        out = tmp_path / f"ds_{track}"
        args = ["extract", pattern, "--identity", "astro", "--out", str(out), "--resolution",
                "32", "--align", str(path)] + (["--track", track] if track else [])
        assert main(args) == 0
        return sorted(Path(i["image"]).stem for i in
                      json.loads((out / "manifest.json").read_text())["items"])

    assert frames_of("") == [f"plate_{f}" for f in (1001, 1002, 1003, 1004, 1006, 1007, 1008)]
    assert frames_of("7") == frames_of("")  # one track: no suffix, but the small face's crops
    small = read_image(tmp_path / "ds_7" / "crops" / "plate_1001.exr").parts[0].rgb()
    large = read_image(tmp_path / "ds_" / "crops" / "plate_1001.exr").parts[0].rgb()
    assert not np.allclose(small, large, atol=0.05)
    both = frames_of("all")
    assert len(both) == 14 and "plate_1001_t0" in both and "plate_1001_t7" in both
    assert main(["extract", pattern, "--identity", "astro", "--out", str(tmp_path / "x"),
                 "--align", str(path), "--track", "3"]) == 1


def test_align_and_extract_read_8_bit_frames_as_srgb_alike(astronaut_u8, tmp_path):
    """8-bit PNG frames are sRGB-encoded by their type's convention: the detector sees their
    values as they are (align used to take them for scene-linear and brighten them)."""
    from faceswap_vfx.face.pipeline import _view, part_pixels

    frames = tmp_path / "png"
    write_image(Image.from_array(astronaut_u8, dtype=np.uint8), frames / "shot.1001.png")
    seq = ImageSequence.find(str(frames / "shot.####.png"))
    params = {"plate_colorspace": "scene_linear", "working_colorspace": "srgb_tx",
              "ocio_config": ""}
    _, view = _view(seq, 1001, params)
    assert np.abs(view.astype(int) - astronaut_u8.astype(int)).max() <= 1
    part = read_image(seq.path(1001)).parts[0]
    assert part_pixels(part, params)[1] == "srgb_tx"
    exr = tmp_path / "plate.exr"
    write_image(Image.from_array(astronaut_u8 / 255.0, dtype=np.float16), exr)
    assert part_pixels(read_image(exr).parts[0], params)[1] == "scene_linear"
