"""OpenCue jobs through OpenCue's own client: the outline pyoutline builds, the spec XML its
OpenCue back end serialises for Cuebot, the tasks its frame sets give, and what Cuebot's
#FRAMESPEC# makes of each task's command. No Cuebot is needed (nor reachable here)."""

from __future__ import annotations

import shlex
import xml.etree.ElementTree as ET

import pytest
from test_farm_job import make_shot

from faceswap_vfx.cli.main import main
from faceswap_vfx.errors import FarmUnavailableError
from faceswap_vfx.farm.job import build_job, chunks, frame_spec
from faceswap_vfx.farm.registry import get_farm
from faceswap_vfx.farm.shot import read_shot_inputs
from faceswap_vfx.io.sequence import parse_frames

outline = pytest.importorskip("outline", reason="OpenCue's pyoutline: pip install '.[farm]'")
FileSequence = pytest.importorskip("FileSequence")  # ships with opencue-pycue


@pytest.fixture
def job(tmp_path):
    shot = make_shot(tmp_path, plate_levels=3, output_alpha=True)
    inputs = read_shot_inputs(shot, align_prepass=True)
    # an uneven chunking (last chunk short) and a frame outside the run
    return build_job(inputs, parse_frames("1001-1022,1030"), 10, align_prepass=True)


def cuebot_tasks(layer_xml) -> list[list[int]]:
    """The frames of each task Cuebot dispatches for a spec layer: one task per chunk of the
    layer's FrameSet, as DispatchSupportService fills #FRAMESPEC# (FrameSet.getChunk)."""
    frame_set = FileSequence.FrameSet(layer_xml.findtext("range"))
    size = int(layer_xml.findtext("chunk"))
    frames = list(frame_set.getAll())
    return [frames[i:i + size] for i in range(0, len(frames), size)]


def test_spec_has_a_frame_token_layer_per_job_layer(job):
    farm = get_farm("opencue", {"show": "demo", "tags": "gpu|cuda", "gpus": "1",
                                "memory": "8g", "priority": "60", "maxretries": "3"})
    root = ET.fromstring(farm.spec(job))  # the library's own serialisation
    assert root.tag == "spec" and root.findtext("show") == "demo"
    assert root.findtext("shot") == "shot010"
    spec_job = root.find("job")
    assert spec_job.get("name") == "shot010_faceswap"
    assert (spec_job.findtext("priority"), spec_job.findtext("maxretries")) == ("60", "3")
    layers = {layer.get("name"): layer for layer in spec_job.find("layers")}
    assert list(layers) == ["align", "render"]
    render, align = layers["render"], layers["align"]
    assert render.findtext("range") == "1001-1022,1030" and render.findtext("chunk") == "10"
    assert (render.findtext("gpus"), render.findtext("memory"), render.findtext("tags")) == \
        ("1", "8g", "gpu | cuda")
    assert align.findtext("gpus") is None  # the pre-pass asks for no GPU
    assert render.findtext("services/service") == "shell"
    depend = root.find("depends/depend")
    assert depend.get("type") == "LAYER_ON_LAYER"
    assert (depend.findtext("deplayer"), depend.findtext("onlayer")) == ("render", "align")

    for name, layer in layers.items():
        ours = job.layer(name).tasks()
        theirs = cuebot_tasks(layer)
        assert [list(f) for f, _ in ours] == theirs
        cmd = layer.findtext("cmd")
        assert cmd.count("#FRAMESPEC#") == 1
        for frames, argv in ours:  # Cuebot's substitution gives the local task's command
            assert shlex.split(cmd.replace("#FRAMESPEC#", frame_spec(frames))) == argv
    assert [len(f) for f in cuebot_tasks(render)] == [10, 10, 3]
    assert cuebot_tasks(align) == [list(job.layer("align").frames)]


def test_pyoutline_chunks_tasks_as_the_job_does(job):
    """pyoutline's own idea of a task's frames (``Layer.get_local_frame_set``) agrees."""
    ol = get_farm("opencue").outline(job)
    for layer in ol.get_layers():
        ours = chunks(job.layer(layer.get_name()).frames, layer.get_chunk_size())
        for frames in ours:
            local = layer.get_local_frame_set(frames[0])
            assert list(local.getAll()) == list(frames)
        assert layer.get_arg("command").count("#FRAMESPEC#") == 1
    render = ol.get_layer("render")
    assert [d.get_depend_on_layer().get_name() for d in render.get_depends()] == ["align"]


def test_dry_run_writes_the_spec_and_no_cuebot_is_an_error(tmp_path, monkeypatch, capsys):
    shot = make_shot(tmp_path)
    monkeypatch.delenv("SHOT", raising=False)
    assert main(["submit", "--farm", "opencue", "--shot", str(shot), "--chunk", "5",
                 "--dry-run", str(tmp_path / "job")]) == 0
    spec = ET.parse(tmp_path / "job" / "shot010_faceswap.cue.xml").getroot()
    assert spec.find("job/layers/layer").findtext("chunk") == "5"
    assert "SHOT" not in __import__("os").environ  # pyoutline's side effect undone
    capsys.readouterr()

    opencue = pytest.importorskip("opencue")
    monkeypatch.setenv("CUEBOT_HOSTS", "127.0.0.1:9")  # nothing listens there
    monkeypatch.setattr(opencue.Cuebot, "RpcChannel", None)
    monkeypatch.setattr(opencue.Cuebot, "Hosts", None)
    monkeypatch.setattr(opencue.Cuebot, "Timeout", 2000)
    with pytest.raises(FarmUnavailableError, match="127.0.0.1:9"):
        get_farm("opencue").submit(build_job(read_shot_inputs(shot)))
    assert main(["submit", "--farm", "opencue", "--shot", str(shot)]) == 1
    assert "--dry-run" in capsys.readouterr().err
