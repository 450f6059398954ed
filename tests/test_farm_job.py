"""The farm-neutral job: shot inputs, chunks, frame ranges, and task commands that the real
``render`` and ``align`` parsers read back as the shot's own parameters."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from faceswap_vfx.cli.main import build_parser, main
from faceswap_vfx.cli.params_cli import params_from_args
from faceswap_vfx.errors import FarmError, ShotFileError
from faceswap_vfx.farm.job import (
    CHUNK_FRAMES,
    build_job,
    chunks,
    farm_environment,
    frame_spec,
    frame_step,
)
from faceswap_vfx.farm.registry import Farm, farms, get_farm, register_farm
from faceswap_vfx.farm.shot import read_shot_inputs
from faceswap_vfx.io.sequence import parse_frames
from faceswap_vfx.params import PARAMS, Shot, defaults, save_shot


def make_shot(folder, inputs=None, **params):
    """A shot file in ``folder`` with plates 1001-1024 on disk and an alignment file."""
    (folder / "plates").mkdir(parents=True, exist_ok=True)
    for f in range(1001, 1025):
        (folder / "plates" / f"plate.{f}.exr").touch()
    (folder / "shot010.align.json").write_text("{}")
    values = defaults()
    values.update({"model": "models/grace.pt", "identity": "grace", **params})
    base = {"plates": "plates/plate.####.exr", "out": "swap dir/swap.%04d.exr",
            "align": "shot010.align.json", "frames": "1001-1024"}
    save_shot(Shot(values, base if inputs is None else inputs), folder / "shot010.shot.json")
    return folder / "shot010.shot.json"


@pytest.mark.parametrize("frames", [[1], [1, 2], [1, 3], [1, 2, 3, 5, 7, 9, 20], [5, 10, 15],
                                    list(range(1001, 1241)), [-3, -2, 0, 4, 8, 12, 13]])
def test_frame_spec_reads_back(frames):
    assert parse_frames(frame_spec(frames)) == sorted(frames)


def test_frame_spec_random_lists_read_back():
    rng = random.Random(0)
    for _ in range(200):
        frames = sorted(rng.sample(range(990, 1060), rng.randint(1, 30)))
        assert parse_frames(frame_spec(frames)) == frames
    assert frame_spec([1001, 1003, 1005, 1006]) == "1001-1005x2,1006"


def test_chunks_are_consecutive_with_a_short_last_one():
    assert chunks(range(1001, 1009), 3) == [(1001, 1002, 1003), (1004, 1005, 1006), (1007, 1008)]
    assert chunks([5], 10) == [(5,)]
    with pytest.raises(FarmError, match="chunk size 0"):
        chunks([1, 2], 0)
    assert (frame_step([1]), frame_step([1, 3, 5]), frame_step([1, 2, 4])) == (1, 2, None)


def test_the_farm_environment_carries_ocio_and_what_is_asked():
    env = farm_environment(["SHOW", "FSV_MODE=final", "UNSET_HERE"],
                           {"OCIO": "/show/aces.ocio", "SHOW": "demo", "HOME": "/root"})
    assert env == (("OCIO", "/show/aces.ocio"), ("SHOW", "demo"), ("FSV_MODE", "final"))
    with pytest.raises(FarmError, match="not an environment variable name"):
        farm_environment(["1BAD"], {})


def test_shot_inputs_become_absolute_and_are_checked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shot = make_shot(tmp_path / "shots")
    inputs = read_shot_inputs(shot)
    assert inputs.plates == str(tmp_path / "shots" / "plates" / "plate.####.exr")
    assert inputs.out == str(tmp_path / "shots" / "swap dir" / "swap.%04d.exr")
    assert inputs.align == str(tmp_path / "shots" / "shot010.align.json")
    assert inputs.model == str(tmp_path / "models" / "grace.pt")  # a parameter: from the cwd
    assert (inputs.identity, inputs.name) == ("grace", "shot010")
    assert inputs.frames == tuple(range(1001, 1025))

    def fails(inputs_, match, **kw):
        path = make_shot(tmp_path / "bad", inputs_, **kw)
        with pytest.raises(FarmError, match=match) as info:
            read_shot_inputs(path)
        assert str(path) in str(info.value)

    good = {"plates": "p.####.exr", "out": "o.####.exr", "align": "shot010.align.json"}
    fails({**good, "out": "o.exr"}, "no frame token")
    fails({k: v for k, v in good.items() if k != "plates"}, "no inputs.plates")
    fails({**good, "align": "nowhere.json"}, r"nowhere.json \(inputs.align\) not found")
    fails({k: v for k, v in good.items() if k != "align"}, "--align-prepass")
    fails({**good, "render_size": 3}, "unknown inputs render_size")
    fails({**good, "model": "other.pt"}, "two models")
    fails(good, "no identity", identity="")
    path = make_shot(tmp_path / "alias", {**good, "identity": "grace"}, identity="")
    assert read_shot_inputs(path).identity == "grace"
    path = make_shot(tmp_path / "pre", {k: v for k, v in good.items() if k != "align"})
    assert read_shot_inputs(path, align_prepass=True).align == \
        str(tmp_path / "pre" / "shot010.align.json")  # beside the output
    with pytest.raises(ShotFileError):
        read_shot_inputs(tmp_path / "missing.shot.json")


def test_render_and_align_commands_carry_the_shot(tmp_path):
    shot = make_shot(tmp_path, plate_levels=3, crop_size=128, output_alpha=True, device="cpu")
    inputs = read_shot_inputs(shot, align_prepass=True)
    job = build_job(inputs, parse_frames("1001-1010,1020"), 4, align_prepass=True,
                    executable=["/opt/fs/bin/faceswap-vfx"], name="shot 010/v2")
    assert job.name == "shot_010_v2" and [x.name for x in job.layers] == ["align", "render"]
    render, align = job.layer("render"), job.layer("align")
    assert render.depends_on == "align" and align.depends_on is None
    assert [f for f, _ in render.tasks()] == [(1001, 1002, 1003, 1004), (1005, 1006, 1007, 1008),
                                              (1009, 1010, 1020)]
    assert [f for f, _ in align.tasks()] == [render.frames]  # one task over every frame
    assert render.argv.count(CHUNK_FRAMES) == 1

    parser = build_parser()
    for frames, argv in render.tasks():
        assert argv[0] == "/opt/fs/bin/faceswap-vfx"
        args = parser.parse_args(argv[1:])
        assert args.command == "render" and parse_frames(args.frames) == list(frames)
        assert (args.plates, args.out, args.align) == (inputs.plates, inputs.out, inputs.align)
        assert params_from_args(args) == dict(inputs.shot.params, model=inputs.model)
    (frames, argv), = align.tasks()
    args = parser.parse_args(argv[1:])
    assert (args.command, args.pattern, args.out) == ("align", inputs.plates, inputs.align)
    assert parse_frames(args.frames) == list(frames)
    face_params = {n for n, p in PARAMS.items() if p.group in ("colour", "faces")}
    assert {k: v for k, v in params_from_args(args).items() if k in face_params} == \
        {k: v for k, v in inputs.shot.params.items() if k in face_params}
    with pytest.raises(FarmError, match="no frames"):
        build_job(read_shot_inputs(make_shot(tmp_path / "n", {
            "plates": "p.####.exr", "out": "o.####.exr", "align": "shot010.align.json"})))


def test_farms_are_registered_by_name_and_check_their_options():
    assert {"opencue", "deadline", "local"} <= set(farms())
    with pytest.raises(FarmError, match="unknown farm 'tractor'"):
        get_farm("tractor")
    with pytest.raises(FarmError, match="unknown option.*Pool"):
        get_farm("local", {"Pool": "gpu"})
    with pytest.raises(ValueError, match="twice"):
        register_farm("local")(type("Again", (Farm,), {}))


def test_submit_dry_run_and_errors(tmp_path, capsys):
    shot = make_shot(tmp_path)
    assert main(["submit", "--farm", "local", "--shot", str(shot), "--frames", "1001-1030",
                 "--chunk", "7", "--dry-run", str(tmp_path / "job"),
                 "--executable", "python3 -m faceswap_vfx.cli.main"]) == 0
    out = capsys.readouterr().out
    assert "30 frames in 5 task(s) of 7" in out and "not on disk" in out and "1025-1030" in out
    body = json.loads((tmp_path / "job" / "shot010_faceswap.tasks.json").read_text())
    tasks = body["layers"][0]["tasks"]
    assert [t["frames"] for t in tasks] == ["1001-1007", "1008-1014", "1015-1021", "1022-1028",
                                            "1029-1030"]
    exe = tasks[0]["argv"][0]  # made absolute: farm hosts run tasks with their own PATH
    assert Path(exe).is_absolute() and Path(exe).name == "python3"
    assert tasks[0]["argv"][1:4] == ["-m", "faceswap_vfx.cli.main", "render"]
    assert main(["submit", "--farm", "local", "--shot", str(shot), "--option", "retries"]) == 1
    assert "not KEY=VALUE" in capsys.readouterr().err
    assert main(["submit", "--farm", "nope", "--shot", str(shot)]) == 1
    assert "unknown farm 'nope'" in capsys.readouterr().err
    assert main(["submit", "--farm", "deadline", "--list-options"]) == 0
    assert "Pool" in capsys.readouterr().out
