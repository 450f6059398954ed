"""Bad input and faults against render, blend, extract and submit: each class is refused with a
named error and loses nothing (the guarantees the README lists)."""

from __future__ import annotations

import json
import os
import shutil
import time
import tracemalloc

import numpy as np
import pytest
import torch

from faceswap_vfx.cli.main import main
from faceswap_vfx.errors import NonFiniteError, PatternError
from faceswap_vfx.io.sequence import parse_frames
from faceswap_vfx.render.model_source import load_swap_model

FRAMES = range(1001, 1009)


def snapshot(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def render(shot, out, *extra, plates=None):
    return main(["render", "--plates", plates or shot["plates"], "--model", shot["model"],
                 "--identity", "grace", "--align", shot["align"], "--out", str(out), *extra])


@pytest.fixture()
def plates_copy(shot, tmp_path):
    """A copy of the shot's plates to attack, with its pattern."""
    folder = tmp_path / "plates"
    shutil.copytree(shot["root"] / "plates", folder)
    return folder, str(folder / "plate.####.exr")


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
def test_render_onto_its_own_plates_is_refused(shot, plates_copy, tmp_path, capsys, overwrite):
    folder, pattern = plates_copy
    before = snapshot(folder)
    link = tmp_path / "link"
    link.symlink_to(folder)  # the same folder by another name
    for out in (pattern, str(link / "plate.%04d.exr")):
        assert render(shot, out, *overwrite, plates=pattern) == 1
        err = capsys.readouterr().err
        assert "would write over --plates" in err and "nothing was written" in err
    assert snapshot(folder) == before


def test_render_onto_the_alignment_file_is_refused(shot, tmp_path, capsys):
    align = tmp_path / "shot.align.json"
    shutil.copy(shot["align"], align)
    code = main(["render", "--plates", shot["plates"], "--model", shot["model"], "--identity",
                 "grace", "--align", str(align), "--out", str(align), "--frames", "1001"])
    assert code == 1 and "would write over --align" in capsys.readouterr().err
    assert align.read_bytes() == open(shot["align"], "rb").read()


def test_blend_onto_an_input_is_refused(shot, plates_copy, tmp_path, capsys):
    folder, pattern = plates_copy
    before = snapshot(folder)
    for role in ("--target", "--source", "--mask"):
        args = {"--target": shot["plates"], "--source": shot["plates"], "--mask": shot["plates"]}
        args[role] = pattern  # this input alone is the output's folder
        argv = ["blend", *[x for kv in args.items() for x in kv], "--out", pattern,
                "--overwrite"]
        assert main(argv) == 1
        assert f"would write over {role}" in capsys.readouterr().err
    assert snapshot(folder) == before


def test_an_output_without_a_frame_token_for_several_frames_is_refused(shot, tmp_path, capsys):
    assert render(shot, tmp_path / "one.exr") == 1
    assert "no frame token" in capsys.readouterr().err
    assert not (tmp_path / "one.exr").exists()
    assert main(["blend", "--target", shot["plates"], "--source", shot["plates"], "--mask",
                 shot["plates"], "--out", str(tmp_path / "one.exr")]) == 1
    assert "no frame token" in capsys.readouterr().err
    assert render(shot, tmp_path / "one.exr", "--frames", "1002") == 0  # one frame: fine
    assert (tmp_path / "one.exr").is_file()


def test_submit_onto_its_plates_is_refused(tmp_path, capsys):
    from faceswap_vfx.params import Shot, defaults, save_shot

    (tmp_path / "plates").mkdir()
    for f in range(1001, 1005):
        (tmp_path / "plates" / f"plate.{f}.exr").write_bytes(b"plate")
    (tmp_path / "shot.align.json").write_text("{}")
    values = defaults() | {"model": "grace.pt", "identity": "grace"}
    save_shot(Shot(values, {"plates": "plates/plate.####.exr", "out": "plates/plate.%04d.exr",
                            "align": "shot.align.json", "frames": "1001-1004"}),
              tmp_path / "shot.json")
    assert main(["submit", "--farm", "local", "--shot", str(tmp_path / "shot.json"),
                 "--dry-run", str(tmp_path / "job")]) == 1
    assert "would write over inputs.plates" in capsys.readouterr().err
    assert not (tmp_path / "job").exists()


def nan_model(shot, tmp_path, how: str):
    """The shot's export with NaN weights (``"weights"``), or finite weights and a forward
    that makes NaN faces (``"output"``)."""
    module = torch.jit.load(shot["model"])
    if how == "weights":
        with torch.no_grad():
            next(module.parameters()).fill_(float("nan"))
        out = tmp_path / "nan.pt"
        module.save(str(out))
    else:
        class Broken(torch.nn.Module):
            def __init__(self, inner):
                super().__init__()
                self.inner = inner

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                return self.inner(x) * float("nan")

        out = tmp_path / "broken.pt"
        torch.jit.script(Broken(module)).save(str(out))
    shutil.copy(shot["model"].replace(".pt", ".json"), out.with_suffix(".json"))
    return out


def test_a_model_with_nan_weights_is_refused_at_load(shot, tmp_path, capsys):
    model = nan_model(shot, tmp_path, "weights")
    with pytest.raises(NonFiniteError, match="NaN or infinity"):
        load_swap_model(model, "grace")
    assert main(["render", "--plates", shot["plates"], "--model", str(model), "--identity",
                 "grace", "--align", shot["align"], "--out", str(tmp_path / "s.####.exr")]) == 1
    assert "nan.pt" in capsys.readouterr().err
    assert not list(tmp_path.glob("s.*.exr"))


def test_a_non_finite_face_fails_its_frame_by_name(shot, tmp_path, capsys):
    model = nan_model(shot, tmp_path, "output")
    assert main(["render", "--plates", shot["plates"], "--model", str(model), "--identity",
                 "grace", "--align", shot["align"], "--out", str(tmp_path / "s.####.exr"),
                 "--frames", "1001-1002"]) == 1
    out = capsys.readouterr().out
    assert "0 written" in out and "2 failed: frames 1001-1002" in out
    assert not list(tmp_path.glob("s.*.exr"))  # no NaN face ever reaches a frame


def test_an_absurd_frame_range_is_refused_before_it_is_expanded(shot, tmp_path, capsys):
    tracemalloc.start()
    with pytest.raises(PatternError, match="300,000,000 frames"):
        parse_frames("1001-300001000")
    assert tracemalloc.get_traced_memory()[1] < 10_000_000
    tracemalloc.stop()
    t0 = time.perf_counter()
    assert render(shot, tmp_path / "s.####.exr", "--frames", "1001-300001000") == 1
    assert "a typo?" in capsys.readouterr().err and time.perf_counter() - t0 < 60
    assert len(parse_frames("1-1000000")) == 1_000_000  # the limit itself is fine


def test_extract_into_an_existing_dataset_appends(astronaut, grace_hopper, tmp_path, capsys):
    from faceswap_vfx.io.image import Image, write_image

    for name, image in (("one", astronaut), ("two", grace_hopper)):
        write_image(Image.from_array(image, dtype=np.uint8), tmp_path / name / f"{name}.png")
    out = tmp_path / "ds"

    def extract(folder, *extra):
        return main(["extract", str(tmp_path / folder), "--identity", "p", "--out", str(out),
                     "--resolution", "32", "--detector-upsample", "0", *extra])

    assert extract("one") == 0
    first = json.loads((out / "manifest.json").read_text())["items"]
    assert extract("two") == 0
    items = json.loads((out / "manifest.json").read_text())["items"]
    assert items[:1] == first and len(items) == 2  # earlier crops stay listed
    assert all((out / i["image"]).is_file() for i in items)
    assert extract("two") == 0  # the same source again: not extracted twice
    assert len(json.loads((out / "manifest.json").read_text())["items"]) == 2
    assert extract("one", "--resolution", "64") == 1
    assert "resolution 32, not 64" in capsys.readouterr().err
    assert main(["extract", str(tmp_path / "one"), "--identity", "q", "--out", str(out)]) == 1
    assert "identity 'p', not 'q'" in capsys.readouterr().err


def test_extract_into_the_photos_own_folder_is_refused(astronaut, tmp_path, capsys):
    from faceswap_vfx.io.image import Image, write_image

    write_image(Image.from_array(astronaut, dtype=np.uint8), tmp_path / "crops" / "a.exr")
    before = snapshot(tmp_path / "crops")
    assert main(["extract", str(tmp_path / "crops"), "--identity", "p", "--out",
                 str(tmp_path), "--resolution", "32"]) == 1
    assert "beside the source" in capsys.readouterr().err
    assert snapshot(tmp_path / "crops") == before
    assert not (tmp_path / "manifest.json").exists()


def test_permissions_are_left_as_they_were(shot, tmp_path):
    """Plates the render only reads keep their bits and modes."""
    folder = shot["root"] / "plates"
    modes = {p.name: os.stat(p).st_mode for p in folder.iterdir()}
    assert render(shot, tmp_path / "s.####.exr", "--frames", "1001") == 0
    assert {p.name: os.stat(p).st_mode for p in folder.iterdir()} == modes


def edited_alignment(shot, tmp_path, edit) -> str:
    body = json.loads(open(shot["align"]).read())
    edit(body)
    path = tmp_path / "edited.align.json"
    path.write_text(json.dumps(body))
    return str(path)


def render_with(shot, align, out, *extra, plates=None):
    return main(["render", "--plates", plates or shot["plates"], "--model", shot["model"],
                 "--identity", "grace", "--align", align, "--out", str(out), *extra])


def test_an_alignment_of_another_shot_is_refused_up_front(shot, tmp_path, capsys):
    def rename(body):
        body["plate"]["pattern"] = body["plate"]["pattern"].replace("plate.", "other.")

    def shift(body):
        for item in body["frames"]:
            item["frame"] += 1000

    for edit, why in ((rename, "made for plates other."), (shift, "none of the")):
        align = edited_alignment(shot, tmp_path, edit)
        assert render_with(shot, align, tmp_path / "s.####.exr") == 1
        assert why in capsys.readouterr().err
        assert not list(tmp_path.glob("s.*.exr"))
    align = edited_alignment(shot, tmp_path, rename)
    assert render_with(shot, align, tmp_path / "s.####.exr", "--frames", "1001",
                       "--force-align") == 0  # the override


def test_a_frame_of_another_size_fails_alone(shot, plates_copy, tmp_path, capsys):
    from faceswap_vfx.io.image import Image, write_image

    folder, pattern = plates_copy
    write_image(Image.from_array(np.zeros((100, 120, 3), np.float32), dtype=np.float16),
                folder / "plate.1004.exr")
    assert render(shot, tmp_path / "s.####.exr", plates=pattern) == 1
    out = capsys.readouterr().out
    assert "7 written" in out and "1 failed: frames 1004" in out
    assert not (tmp_path / "s.1004.exr").exists()


@pytest.mark.parametrize(("matrix", "why"), [
    ([[0, 0, 100], [0, 0, 100], [0, 0, 1]], "singular"),
    ([[-1, 0, 100], [0, 1, 100], [0, 0, 1]], "mirrored"),
    ([[1e6, 0, 0], [0, 1e6, 0], [0, 0, 1]], "scale"),
    ([[1, 0, 1e7], [0, 1, 100], [0, 0, 1]], "far off the plate"),
    ([[1, 0, 100], [0, 1, 100], [0.1, 0, 1]], "last row"),
])
def test_degenerate_geometry_is_a_named_error_at_load(shot, tmp_path, capsys, matrix, why):
    def spoil(body):
        for item in body["frames"]:
            if item["frame"] == 1003:
                item["faces"][0]["plate_from_crop"] = matrix

    align = edited_alignment(shot, tmp_path, spoil)
    assert render_with(shot, align, tmp_path / "s.####.exr") == 1
    err = capsys.readouterr().err
    assert why in err and "frame 1003" in err and "edited.align.json" in err
    assert "Traceback" not in err and not list(tmp_path.glob("s.*.exr"))


def test_a_nan_in_the_mask_or_matte_does_not_drop_the_blend(tmp_path, capsys):
    from faceswap_vfx.io.image import Image, read_image, write_image

    rng = np.random.default_rng(0)
    h, w = 96, 128
    target = rng.uniform(0.1, 0.5, (h, w, 3)).astype(np.float32)
    source = rng.uniform(0.5, 0.9, (h, w, 3)).astype(np.float32)
    mask = np.zeros((h, w), np.float32)
    mask[20:76, 30:98] = 1.0
    spoilt = mask.copy()
    spoilt[48, 64] = np.nan  # one bad pixel inside the face
    for name, pixels in (("t", target), ("s", source)):
        write_image(Image.from_array(pixels, dtype=np.float16), tmp_path / f"{name}.1001.exr")
    for name, m in (("clean", mask), ("nan", spoilt)):
        write_image(Image.from_array(m[..., None], ("A",), np.float32),
                    tmp_path / f"{name}.1001.exr")
    outs = {}
    for name in ("clean", "nan"):
        argv = ["blend", "--target", str(tmp_path / "t.####.exr"), "--source",
                str(tmp_path / "s.####.exr"), "--mask", str(tmp_path / f"{name}.####.exr"),
                "--out", str(tmp_path / f"o_{name}.####.exr")]
        assert main(argv) == 0
        outs[name] = read_image(tmp_path / f"o_{name}.1001.exr").part.rgb()
    assert np.isfinite(outs["nan"]).all()
    differs = np.abs(outs["nan"] - outs["clean"]).max(-1) > 0.02
    assert differs.sum() < 0.02 * mask.sum(), differs.sum()  # a local dip, not half the face
    assert np.abs(outs["nan"] - target)[20:76, 30:98].mean() > 0.1  # the swap is there
    for name in ("clean", "nan"):  # the same through --matte
        argv = ["blend", "--target", str(tmp_path / "t.####.exr"), "--source",
                str(tmp_path / "s.####.exr"), "--mask", str(tmp_path / "clean.####.exr"),
                "--matte", str(tmp_path / f"{name}.####.exr"), "--out",
                str(tmp_path / f"m_{name}.####.exr")]
        assert main(argv) == 0
        outs[name] = read_image(tmp_path / f"m_{name}.1001.exr").part.rgb()
    assert (np.abs(outs["nan"] - outs["clean"]).max(-1) > 0.02).sum() < 0.02 * mask.sum()


def test_sigterm_stops_a_render_cleanly_and_a_rerun_completes_it(shot, tmp_path, capsys,
                                                                 monkeypatch):
    import signal

    from faceswap_vfx.render import job

    whole = tmp_path / "whole" / "s.####.exr"
    assert render(shot, whole) == 0
    ticks = []
    original = job._Ticker.tick

    def tick(self, n=1):
        original(self, n)
        ticks.append(n)
        if len(ticks) == 3:  # as a farm manager would, mid-chunk
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(job._Ticker, "tick", tick)
    out = tmp_path / "cut" / "s.####.exr"
    assert render(shot, out) == 143
    assert "terminated (SIGTERM)" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the command's handler is gone
    written = sorted(p.name for p in out.parent.iterdir())
    assert not [n for n in written if n.startswith(".")]  # no temporary file left
    assert 0 < len(written) < len(FRAMES)
    monkeypatch.undo()
    assert render(shot, out) == 0
    for frame in FRAMES:
        a = (whole.parent / f"s.{frame}.exr").read_bytes()
        assert (out.parent / f"s.{frame}.exr").read_bytes() == a, frame


def test_sigterm_stops_training_after_the_step_with_a_checkpoint(tmp_path):
    import signal

    from train_data import portrait_dataset

    from faceswap_vfx.errors import Terminated
    from faceswap_vfx.model.config import CombConfig
    from faceswap_vfx.train.checkpoint import latest_checkpoint
    from faceswap_vfx.train.config import RunConfig, TrainConfig
    from faceswap_vfx.train.loop import train

    data = (("a", str(portrait_dataset(tmp_path / "a", "astronaut", 2, 8))),)
    run = RunConfig(CombConfig(max_resolution=8, width=1 / 32, latent=8, split_level=0),
                    TrainConfig(batch_per_identity=2, fade_images=8, stabilise_images=8,
                                tensorboard=False), data)

    def term(step, images_seen, terms):
        if step == 3:
            os.kill(os.getpid(), signal.SIGTERM)

    with pytest.raises(Terminated):
        train(run, tmp_path / "run", on_step=term)
    assert latest_checkpoint(tmp_path / "run").stem == "000000000006"  # the step finished
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_without_an_alignment_file_an_unreadable_frame_fails_alone(shot, plates_copy, tmp_path,
                                                                  capsys):
    folder, pattern = plates_copy
    data = (folder / "plate.1003.exr").read_bytes()
    (folder / "plate.1003.exr").write_bytes(data[:len(data) // 3])  # corrupt on disk
    code = main(["render", "--plates", pattern, "--model", shot["model"], "--identity",
                 "grace", "--out", str(tmp_path / "s.####.exr"), "--detector-upsample", "0",
                 "--crop-size", "64", "--max-gap", "0"])
    captured = capsys.readouterr()
    assert code == 1 and "1 failed: frames 1003" in captured.out
    written = sorted(p.name for p in tmp_path.glob("s.*.exr"))
    assert written == [f"s.{f}.exr" for f in FRAMES if f != 1003]


def test_a_permission_error_is_not_called_corrupt(shot, tmp_path):
    """Read by a process that file permissions apply to (root without its file-access
    capabilities, via setpriv): the error says permission, not corrupt."""
    import subprocess
    import sys

    plate = tmp_path / "plate.1001.exr"
    shutil.copy(shot["root"] / "plates" / "plate.1001.exr", plate)
    plate.chmod(0o000)
    if not shutil.which("setpriv") or os.geteuid() != 0:
        pytest.skip("needs root and setpriv to read as a process permissions apply to")
    code = ("from faceswap_vfx.io.image import read_image\n"
            "from faceswap_vfx.errors import PlateReadError\n"
            f"try:\n    read_image({str(plate)!r}, 1001)\n"
            "except PlateReadError as e:\n    print(e)\n")
    done = subprocess.run(["setpriv", "--bounding-set", "-dac_override,-dac_read_search",
                           "--inh-caps=-all", sys.executable, "-c", code],
                          capture_output=True, text=True, timeout=120)
    assert "Permission denied" in done.stdout, done.stderr[-500:]
    assert "corrupt" not in done.stdout
    assert "plate.1001.exr" in done.stdout and "frame 1001" in done.stdout


def test_a_write_protected_output_is_left_alone_under_overwrite(shot, tmp_path, capsys,
                                                                caplog):
    out = tmp_path / "s.####.exr"
    assert render(shot, out, "--frames", "1001-1002") == 0
    locked = tmp_path / "s.1001.exr"
    before = locked.read_bytes()
    locked.chmod(0o444)
    assert render(shot, out, "--frames", "1001-1002", "--overwrite") == 1
    assert "1 written, 0 skipped (already done), 0 without a face, 1 failed: frames 1001" in \
        capsys.readouterr().out
    assert "write-protected" in caplog.text and "s.1001.exr, frame 1001" in caplog.text
    assert locked.read_bytes() == before and (locked.stat().st_mode & 0o777) == 0o444


def test_status_says_swapped_only_where_a_face_was_written(shot, tmp_path):
    """A tracked face that writes no pixel (here under a matte of zeros) is not 'swapped'."""
    from faceswap_vfx.io.image import read_header, read_image, write_image
    from faceswap_vfx.render.nodes import STATUS

    image = read_image(shot["root"] / "plates" / "plate.1001.exr", 1001)
    image.part.channels["A"][:] = 0
    write_image(image, tmp_path / "matte.1001.exr", 1001)
    assert render(shot, tmp_path / "s.####.exr", "--frames", "1001", "--matte",
                  str(tmp_path / "matte.####.exr"), "--matte-channel", "A") == 0
    spec = read_header(tmp_path / "s.1001.exr")[0]
    assert spec.getattribute(STATUS) == "no face written"
    assert render(shot, tmp_path / "t.####.exr", "--frames", "1001") == 0
    assert read_header(tmp_path / "t.1001.exr")[0].getattribute(STATUS) == "swapped"


def test_the_dwa_compression_level_is_kept(tmp_path):
    import OpenEXR

    from faceswap_vfx.io.image import read_image, write_image

    rgb = np.random.default_rng(0).random((32, 48, 3)).astype(np.float16)
    OpenEXR.File({"compression": OpenEXR.DWAA_COMPRESSION, "dwaCompressionLevel": 100.0},
                 {"RGB": rgb}).write(str(tmp_path / "a.exr"))
    write_image(read_image(tmp_path / "a.exr"), tmp_path / "b.exr")
    header = OpenEXR.File(str(tmp_path / "b.exr"), header_only=True).header()
    assert header["compression"] == OpenEXR.DWAA_COMPRESSION
    assert header["dwaCompressionLevel"] == 100.0


def test_uint_rgb_is_rounded_not_truncated():
    from faceswap_vfx.io.image import Box, ImagePart
    from faceswap_vfx.render.frame import write_rgb

    part = ImagePart({c: np.zeros((1, 3), np.uint32) for c in "RGB"}, Box(0, 0, 3, 1),
                     Box(0, 0, 3, 1))
    values = np.array([[[1.6, 2.4, 2.5], [0.49, 7.51, -3.0], [1e12, np.nan, 3.0]]],
                      np.float32)
    write_rgb(part, (slice(None), slice(None)), values, np.ones((1, 3), bool))
    assert part.channels["R"].tolist() == [[2, 0, 2**32 - 1]]
    assert part.channels["G"].tolist() == [[2, 8, 0]]


def test_a_png_renamed_exr_mid_sequence_fails_alone(shot, plates_copy, tmp_path, capsys):
    from faceswap_vfx.io.image import Image, write_image

    folder, pattern = plates_copy
    write_image(Image.from_array(np.zeros((320, 400, 3), np.uint8)), tmp_path / "x.png")
    shutil.copy(tmp_path / "x.png", folder / "plate.1006.exr")  # the plate's size, as a PNG
    assert render(shot, tmp_path / "s.####.exr", plates=pattern) == 1
    assert "1 failed: frames 1006" in capsys.readouterr().out
    assert not (tmp_path / "s.1006.exr").exists() and (tmp_path / "s.1005.exr").exists()
