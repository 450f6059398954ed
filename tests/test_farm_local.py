"""A farm job run here: every chunk's render command as its own process, two at a time, one
of them killed (SIGKILL) after its first frame and retried; the frames are bit for bit those
of one render over the whole range. Real EXR plates, a real alignment file, a real (tiny,
untrained) exported network; the processes are the commands a farm task runs."""

from __future__ import annotations

import json
import re
import sys

import numpy as np
import pytest
import torch

from faceswap_vfx.backend import parse_line
from faceswap_vfx.cli.main import main
from faceswap_vfx.face.align_file import save_alignment
from faceswap_vfx.face.pipeline import align_sequence
from faceswap_vfx.farm.backend_local import run_job
from faceswap_vfx.farm.job import build_job
from faceswap_vfx.farm.shot import read_shot_inputs
from faceswap_vfx.io.atomic import atomic_write_text
from faceswap_vfx.io.image import read_image
from faceswap_vfx.io.sequence import ImageSequence
from faceswap_vfx.model.comb import CombNetwork
from faceswap_vfx.model.config import CombConfig
from faceswap_vfx.model.export import export_torchscript, sidecar
from faceswap_vfx.params import Shot, defaults, save_shot

FRAMES = list(range(1001, 1009))  # the face_plate fixture; chunks of 3: 1001-1003, 1004-1006,
CHUNK = 3  # 1007-1008 (short), so one task waits for a free worker
CLI = [sys.executable, "-m", "faceswap_vfx.cli.main"]


def bits(a: np.ndarray) -> np.ndarray:
    return a.view(np.dtype(f"u{a.dtype.itemsize}"))


@pytest.fixture(scope="module")
def shot(tmp_path_factory, face_plate):
    plates, _ = face_plate
    root = tmp_path_factory.mktemp("farm_shot")
    alignment = align_sequence(ImageSequence.find(plates), {"crop_size": 64, "max_gap": 0,
                                                            "detector_upsample": 0,
                                                            "refine_jitter": 0})
    save_alignment(alignment, root / "shot010.align.json")
    torch.manual_seed(0)
    net = CombNetwork(CombConfig(max_resolution=16, width=1 / 32, latent=16, split_level=0),
                      ["astronaut", "grace"], level=2)
    export_torchscript(net, "grace").save(str(root / "grace.pt"))
    atomic_write_text(root / "grace.json", json.dumps(sidecar(net, "grace", 2, "srgb_tx")))
    values = defaults()
    values.update(model=str(root / "grace.pt"), identity="grace", device="cpu", mask_grow=2.0,
                  plate_levels=3)
    save_shot(Shot(values, {"plates": plates, "out": "farm/swap.####.exr",
                            "align": "shot010.align.json", "frames": "1001-1008"}),
              root / "shot010.shot.json")
    return root / "shot010.shot.json"


def test_chunks_as_processes_one_killed_and_retried_equal_one_render(shot, tmp_path,
                                                                    monkeypatch, capsys):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the same arithmetic in every process
    torch.set_num_threads(1)
    job = build_job(read_shot_inputs(shot), chunk=CHUNK, executable=CLI)
    render = job.layer("render")
    out_dir = shot.parent / "farm"

    killed = []

    def kill_first_task_after_its_first_frame(task, attempt, line, process):
        if task.frames == (1001, 1002, 1003) and attempt == 0 and line.startswith("Progress:"):
            if not killed:
                process.kill()
                killed.append(line)

    runs = run_job(job, workers=2, retries=1, on_line=kill_first_task_after_its_first_frame)
    out = capsys.readouterr().out
    assert [t.frames for t in runs] == [f for f, _ in render.tasks()]
    assert [t.exit_codes for t in runs] == [[-9, 0], [0], [0]], out
    assert killed == ["Progress: 33%\n"]
    spans = sorted(span for t in runs for span in t.spans)
    assert len(spans) == 4 and all(  # never more than two processes at once
        sum(a <= s < b for a, b in spans) <= 2 for s, _ in spans)
    assert runs[2].spans[0][0] >= min(end for _, end in spans)  # the third waited for a slot
    retry = [line for line in out.splitlines() if line.startswith("[render 1001-1003]")]
    # finished what was begun (the kill lands after frame 1001, or 1002 on a loaded machine)
    assert any(re.search(r"[12] skipped \(already done\)", line) for line in retry)
    assert sorted(p.name for p in out_dir.glob("swap.*.exr")) == \
        [f"swap.{f}.exr" for f in FRAMES]

    # what the front ends and the Deadline plugin read as task progress
    progress = [e.percent for line in out.splitlines()
                if (e := parse_line(line.partition("] ")[2])).kind == "progress"]
    assert progress and max(progress) == 100 and set(progress) <= set(range(101))

    # the reference: one render over every frame, the same command line, in this process
    (frames, argv), = build_job(read_shot_inputs(shot), chunk=len(FRAMES), executable=CLI) \
        .layer("render").tasks()
    ref = next(i for i, a in enumerate(argv) if a.startswith("--out="))
    argv[ref] = f"--out={tmp_path / 'one' / 'swap.####.exr'}"
    assert main(argv[len(CLI):]) == 0
    swapped = 0
    for frame in FRAMES:
        a = read_image(tmp_path / "one" / f"swap.{frame}.exr").part
        b = read_image(out_dir / f"swap.{frame}.exr").part
        assert sorted(a.channels) == sorted(b.channels)
        for name in a.channels:
            np.testing.assert_array_equal(bits(a.channels[name]), bits(b.channels[name]),
                                          err_msg=f"frame {frame} channel {name}")
        swapped += a.attribute("faceswap:status") == "swapped"
    assert swapped == len(FRAMES) - 1  # frame 1005 of the fixture has no face


def test_a_task_that_keeps_failing_fails_the_job(shot, tmp_path, capsys):
    inputs = read_shot_inputs(shot)
    job = build_job(inputs, [1001, 1002], 1, executable=[sys.executable, "-c",
                                                         "import sys; sys.exit(3)"])
    runs = run_job(job, workers=2, retries=1, echo=False)
    assert [t.exit_codes for t in runs] == [[3, 3], [3, 3]]
    assert "attempt 2 failed (exit 3)" in capsys.readouterr().err
    assert main(["submit", "--farm", "local", "--shot", str(shot), "--frames", "1001",
                 "--executable", f"{sys.executable} -c 'import sys; sys.exit(3)'",
                 "--option", "retries=0"]) == 1
    assert "failed after retries: render 1001" in capsys.readouterr().err
