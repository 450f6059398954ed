"""``faceswap-vfx eval`` and ``latent`` end to end on a tiny run; temporal stability figures."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch
from eval_fixtures import tiny_dataset, tiny_run, write_sequence

from faceswap_vfx.cli.main import main
from faceswap_vfx.eval.data import load_crops, template_mask
from faceswap_vfx.eval.metrics import METRICS
from faceswap_vfx.eval.temporal import temporal_stability
from faceswap_vfx.io.image import Image, read_image, write_image

torch.set_num_threads(1)


def sequence(folder, flicker: float = 0.0, frames=range(1001, 1007)):
    """A drifting gradient plate; the render is the plate with a face square whose
    brightness flickers by +-``flicker`` on alternate frames."""
    frames = list(frames)
    yy, xx = np.mgrid[0:40, 0:48].astype(np.float32)
    plates, renders, masks = [], [], []
    for k, _ in enumerate(frames):
        p = np.stack([0.1 + (xx + k) / 80, 0.2 + yy / 60, 0.3 + 0 * xx], -1)
        m = np.zeros((40, 48), np.float32)
        m[10:30, 12:36] = 1.0
        r = p.copy()
        r[10:30, 12:36] += flicker * (1 if k % 2 else -1)
        plates.append(p)
        renders.append(r)
        masks.append(m)
    return write_sequence(folder, frames, plates, renders, masks)


def test_temporal_stability_is_1_for_the_plate_and_grows_with_flicker(tmp_path):
    still = temporal_stability(*sequence(tmp_path / "a"), plate_colorspace="srgb_tx")
    for k in ("first", "second", "colour"):
        assert still[k]["ratio"] == pytest.approx(1.0, abs=1e-6), k
    assert still["frames"] == list(range(1001, 1007)) and still["first"]["steps"] == 5
    assert still["second"]["steps"] == 4 and still["face_pixels"][0] == 480
    # the plate moves 1/80 per frame in R: mean |step| over RGB is 1/240 (half floats)
    assert still["first"]["plate"] == pytest.approx(1 / 240, rel=0.02)
    shaky = temporal_stability(*sequence(tmp_path / "b", flicker=0.02),
                               plate_colorspace="srgb_tx")
    assert shaky["first"]["ratio"] > 5 and shaky["colour"]["ratio"] > 5
    # flicker +-0.02 alternating: each step moves the face's G and B means by 0.04 and its R
    # mean by 0.0125 +- 0.04 (the drift), 0.04 on average: 0.04 (half floats: 5 %)
    assert shaky["colour"]["render"] == pytest.approx(0.04, rel=0.05)
    gap = temporal_stability(*sequence(tmp_path / "c", frames=[1001, 1002, 1003, 1005, 1006]),
                             plate_colorspace="srgb_tx")
    assert gap["first"]["steps"] == 3 and gap["second"]["steps"] == 1


def test_folders_of_crops_get_the_template_mask(tmp_path):
    for k in range(3):
        rgb = np.full((32, 32, 3), 0.2 * k, np.float32)
        write_image(Image.from_array(rgb, dtype=np.uint8), tmp_path / "crops" / f"c{k}.png")
    crops = load_crops(tmp_path / "crops", 16, "x", limit=2)
    assert crops.images.shape == (2, 3, 16, 16) and crops.labels == ["c0", "c2"]
    assert crops.template_masks and torch.equal(crops.masks[0], template_mask(16))
    assert 0.15 < template_mask(16).mean() < 0.5
    single = load_crops(tmp_path / "crops" / "c1.png", 16)
    assert len(single) == 1 and single.images.mean() == pytest.approx(0.2, abs=0.01)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A tiny run, held-out and training datasets, an outsider, a rendered sequence."""
    w = tmp_path_factory.mktemp("evalcli")
    run = tiny_run(w / "run")
    for name, seed in (("alice", 1), ("bob", 2)):
        tiny_dataset(w / "test" / name, name, 4, seed=seed)
        tiny_dataset(w / "train" / name, name, 5, seed=seed + 10)
    tiny_dataset(w / "stranger", "stranger", 2, seed=7)
    render, plates = sequence(w / "seq", flicker=0.01)
    return w, run, render, plates


def test_latent_direction_and_interpolate_commands(workspace, capsys):
    w, run, _, _ = workspace
    assert main(["latent", "direction", str(run), "--from", str(w / "test" / "alice"),
                 "--to", str(w / "test" / "bob"), "--name", "ab",
                 "--out", str(w / "ab.direction.json")]) == 0
    body = json.loads((w / "ab.direction.json").read_text())
    assert body["format"] == "faceswap_vfx.latent_direction" and body["latent"] == 16
    assert body["counts"] == [4, 4] and "|d| =" in capsys.readouterr().out
    a, b = sorted((w / "stranger" / "crops").glob("*.exr"))
    assert main(["latent", "interpolate", str(run), str(a), str(b),
                 "--out", str(w / "lerp.png")]) == 0
    grid = read_image(w / "lerp.png").part.rgb()
    assert grid.shape == (2 * 18 + 2, 11 * 18 + 2, 3)  # two heads, anchors + 9 lambda


def test_eval_command_writes_every_table_and_grid(workspace, capsys):
    w, run, render, plates = workspace
    out = w / "report"
    argv = ["eval", str(run), "--data", f"alice={w / 'test' / 'alice'}",
            "--data", f"bob={w / 'test' / 'bob'}", "--train-data",
            f"alice={w / 'train' / 'alice'}", "--train-data", f"bob={w / 'train' / 'bob'}",
            "--outside", f"stranger={w / 'stranger'}", "--direction",
            str(w / "ab.direction.json"), "--render", render, "--plates", plates,
            "--plate-colorspace", "srgb_tx", "--examples", "2", "--out", str(out)]
    if not (w / "ab.direction.json").is_file():
        main(["latent", "direction", str(run), "--from", str(w / "test" / "alice"),
              "--to", str(w / "test" / "bob"), "--out", str(w / "ab.direction.json")])
    assert main(argv) == 0
    assert "report:" in capsys.readouterr().out
    text = (out / "report.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    body = json.loads(text)
    assert body["format"] == "faceswap_vfx.eval_report" and body["version"] == 1
    rec = body["reconstruction"]["alice"]
    assert set(rec["figures"]) == {"network", "jpeg_latent_size", "jpeg_q85"}
    for method in rec["figures"].values():
        assert set(method) == set(METRICS)
        assert all(set(v) == {"crop", "mask"} for v in method.values())
    assert rec["sizes"]["jpeg_latent_size"]["budget_bytes"] == 32
    assert body["temporal"]["first"]["ratio"] > 1
    assert [i["name"] for i in body["interpolation"]] == ["alice", "bob", "stranger"]
    assert body["interpolation"][2]["in_sample"] is False
    assert [(n["source"], n["target"]) for n in body["nearest_neighbours"]] == [
        ("alice", "bob"), ("bob", "alice")]
    assert body["expression"]["encoder_matches"] is True
    assert body["expression"]["agreement_with_groups"]["alice->bob"] is not None
    page = (out / "index.html").read_text()
    for heading in ("Reconstruction and JPEG baseline", "Temporal stability",
                    "Latent interpolation", "Nearest training images", "Expression direction"):
        assert heading in page
    images = re.findall(r"(?:src|href)='([^']+\.png)'", page)
    assert len(images) > 60
    for rel in set(images):
        assert read_image(out / rel).part.rgb().size > 0, rel
    for grid in ("reconstruction_alice", "interpolation_in_bob", "interpolation_out_stranger",
                 "neighbours_alice_to_bob", "expression_bob"):
        assert (out / f"{grid}.png").is_file()


def test_eval_errors_are_named(workspace, capsys):
    w, run, _, _ = workspace
    assert main(["eval", str(run), "--data", f"carol={w / 'test' / 'alice'}",
                 "--out", str(w / "bad")]) == 1
    assert "no identity 'carol'" in capsys.readouterr().err
    assert main(["eval", str(run), "--data", "alice", "--out", str(w / "bad")]) == 1
    assert "not NAME=PATH" in capsys.readouterr().err
    assert main(["eval", "--out", str(w / "bad")]) == 1
    assert "give a RUN" in capsys.readouterr().err
