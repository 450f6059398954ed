"""The backend boundary (faceswap_vfx.backend) and FaceSwap's glue without Nuke: the command
line (read back by the real CLI), the output protocol, the background process and its clean
environment, model identities, and the callbacks run against stand-in Nuke nodes made from
the generated gizmos' own knobs, with a stand-in backend process."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import tempfile
import textwrap
import types
from pathlib import Path

import pytest

from faceswap_vfx import params as schema
from faceswap_vfx.backend import (
    EXECUTABLE_ENV,
    HOST_VARIABLES,
    BackendProcess,
    backend_command,
    outcome,
    parse_line,
    render_argv,
)
from faceswap_vfx.cli.main import build_parser
from faceswap_vfx.cli.params_cli import params_from_args
from faceswap_vfx.errors import ModelFileError, ParameterError
from faceswap_vfx.nuke import callbacks
from faceswap_vfx.nuke.callbacks import default_output
from faceswap_vfx.nuke.gizmos import generate
from faceswap_vfx.nuke.model_info import model_identities
from faceswap_vfx.nuke.tcl import parse_script
from faceswap_vfx.params import to_argv


def other_value(p: schema.Param):
    """A valid value of ``p`` that is not its default (negative where it may be)."""
    if p.kind == "bool":
        return not p.default
    if p.kind == "enum":
        return next(c for c in p.choices if c != p.default)
    if p.kind == "int":
        return int(p.maximum) if p.default != p.maximum else int(p.minimum)
    if p.kind == "float":
        return p.minimum if p.minimum < 0 else (p.default + p.maximum) / 2
    return "-x y/" + p.name  # text starting with '-' and holding a space


NON_DEFAULT = {name: other_value(p) for name, p in schema.PARAMS.items()}
NON_DEFAULT["crop_size"] = 512  # a power of two


def test_every_parameter_reaches_the_cli_unchanged():
    argv = render_argv(NON_DEFAULT, plates="p.####.exr", out="o/s.####.exr",
                       frames="1001-1003", align="a.json", overwrite=True)
    args = build_parser().parse_args(argv[1:])
    assert args.command == "render" and args.overwrite and args.align == "a.json"
    assert (args.plates, args.out, args.frames) == ("p.####.exr", "o/s.####.exr", "1001-1003")
    assert params_from_args(args) == schema.resolve(NON_DEFAULT)
    assert schema.resolve(NON_DEFAULT) != schema.defaults()


def test_bad_values_are_refused_before_anything_runs():
    with pytest.raises(ParameterError, match="plate_levels"):
        to_argv({"plate_levels": 11})
    with pytest.raises(ParameterError, match="unknown parameters"):
        to_argv({"nope": 1})
    with pytest.raises(ParameterError, match="needs out"):
        render_argv({}, plates="p", out=" ", frames="1-3")


def test_to_argv_changed_only_and_groups_parse_back():
    values = dict(schema.defaults(), plate_levels=4, output_alpha=True, detector="cnn")
    changed = to_argv(values, changed_only=True)
    assert changed == ["--detector=cnn", "--plate-levels=4", "--output-alpha"]  # schema order
    args = build_parser().parse_args(["render", "--plates=p.####.exr", "--out=o.####.exr",
                                      *changed])
    assert params_from_args(args) == values
    assert to_argv(values, changed_only=True, groups=("faces",)) == ["--detector=cnn"]


def test_progress_error_and_summary_lines():
    """Every line the backend prints, as the front ends read it: render's and align's
    progress, the CLI's error line, a logged frame failure, the render's summary."""
    events = [parse_line(s) for s in (
        "Progress: 7%", "Progress: 100%\n", "Progress: 42% (align 21/50)", "Progress: x%",
        "faceswap-vfx render: error: no face (file a.exr, frame 3)",
        "ERROR faceswap_vfx.render.job: frame 1003 failed: truncated",
        "2 written, 0 skipped (already done), 0 without a face, 1 failed: frames 1003",
        "rendered 3 frames")]
    assert [(e.kind, e.percent, e.label) for e in events[:4]] == [
        ("progress", 7, ""), ("progress", 100, ""), ("progress", 42, "align 21/50"),
        ("line", None, "")]
    assert [e.kind for e in events[4:]] == ["error", "frame_error", "summary", "line"]
    assert events[4].text == "no face (file a.exr, frame 3)"
    assert outcome(1, events) == (False, "no face (file a.exr, frame 3)")
    ok, message = outcome(1, events[5:])
    assert not ok and "finished with errors" in message and "frame 1003 failed" in message
    assert outcome(0, events[6:7]) == (True, events[6].text)
    assert outcome(-9, [parse_line("loading")]) == (False, "killed by signal 9:\nloading")


def run_python(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


def test_backend_process_reports_progress_lines_and_exit_code():
    progress, done = [], []
    job = BackendProcess(run_python("""
        print("Progress: 50%", flush=True)
        print("a warning")
        print("Progress: 100%")
        print("rendered 2 frames: 2 written")
        raise SystemExit(3)"""), lambda e: e.kind == "progress" and progress.append(e.percent),
        lambda c, events: done.append((c, [e.text for e in events]))).start()
    assert job.wait(30)
    assert progress == [50, 100]
    assert done == [(3, ["a warning", "rendered 2 frames: 2 written"])]
    assert job.outcome() == (False, "failed (exit code 3):\na warning\n"
                                    "rendered 2 frames: 2 written")


def test_backend_process_can_be_cancelled():
    done = []
    job = BackendProcess(run_python("import time; print('started', flush=True); time.sleep(60)"),
                         on_done=lambda c, t: done.append(c)).start()
    job.cancel()
    assert job.wait(30) and done and done[0] != 0
    assert job.outcome()[0] is False and "cancelled" in job.outcome()[1]


def test_the_backend_starts_without_the_hosts_python_environment(monkeypatch):
    """Nuke starts buttons with its own PYTHONHOME, PYTHONPATH and LD_LIBRARY_PATH: the
    backend's Python must not see them (it would load Nuke's standard library)."""
    assert {"PYTHONHOME", "PYTHONPATH", "LD_LIBRARY_PATH", "QT_PLUGIN_PATH"} <= set(
        HOST_VARIABLES)
    monkeypatch.setenv("OCIO", "/show/config.ocio")
    # a PYTHONHOME that is not this Python's: a child that kept it could not even start
    for name in ("PYTHONHOME", "PYTHONPATH", "LD_LIBRARY_PATH", "QT_PLUGIN_PATH"):
        monkeypatch.setenv(name, "/opt/Nuke15.1/lib")
    lines = []
    job = BackendProcess(run_python("""
        import json, os
        print(json.dumps({k: os.environ.get(k) for k in
                          ("PYTHONHOME", "PYTHONPATH", "LD_LIBRARY_PATH", "QT_PLUGIN_PATH",
                           "OCIO")}))"""), lambda e: lines.append(e.text)).start()
    assert job.wait(30) and job.returncode == 0
    assert json.loads(lines[-1]) == {"PYTHONHOME": None, "PYTHONPATH": None,
                                     "LD_LIBRARY_PATH": None, "QT_PLUGIN_PATH": None,
                                     "OCIO": "/show/config.ocio"}


def test_a_command_that_cannot_start_is_a_named_error(tmp_path):
    with pytest.raises(ParameterError, match="cannot start .*missing-exe"):
        BackendProcess([str(tmp_path / "missing-exe"), "render"]).start()


def test_backend_command_and_default_output(tmp_path):
    assert backend_command({EXECUTABLE_ENV: "/opt/py -m faceswap_vfx.cli.main"}) == [
        "/opt/py", "-m", "faceswap_vfx.cli.main"]
    with pytest.raises(ParameterError, match=EXECUTABLE_ENV):
        backend_command({"PATH": str(tmp_path)}, this_python=False)
    exe = tmp_path / "faceswap-vfx"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    assert backend_command({"PATH": str(tmp_path)}, this_python=False) == [str(exe)]
    assert backend_command({"PATH": str(tmp_path)}) == [sys.executable, "-m",
                                                        "faceswap_vfx.cli.main"]
    assert default_output(str(tmp_path / "shot.nk"), "FaceSwap1") == str(
        tmp_path / "faceswap" / "FaceSwap1" / "FaceSwap1.####.exr")
    with pytest.raises(ParameterError, match="save the Nuke script"):
        default_output("Root", "FaceSwap1")


def test_model_identities(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"data": [["bob", "d1"], ["al", "d2"],
                                                          ["bob", "d3"]]}))
    assert model_identities(run) == ["bob", "al"]
    (tmp_path / "al.pt").write_bytes(b"")
    (tmp_path / "al.json").write_text(json.dumps({"identity": "al", "identities": ["bob", "al"]}))
    assert model_identities(tmp_path / "al.pt") == ["al"]
    with pytest.raises(ModelFileError, match="sidecar"):
        model_identities(tmp_path / "missing.pt")
    with pytest.raises(ModelFileError):
        model_identities(tmp_path / "model.onnx")


def test_what_nuke_imports_needs_only_the_standard_library():
    code = ("import sys, faceswap_vfx.nuke.callbacks\n"
            "heavy = {'numpy', 'torch', 'dlib', 'scipy', 'OpenImageIO'} & set(sys.modules)\n"
            "raise SystemExit(', '.join(sorted(heavy)) or 0)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, f"Nuke's Python would need: {run.stderr.strip()}"


# --- stand-ins for Nuke -----------------------------------------------------------------
class Knob:
    def __init__(self, name, value=None, menu=None):
        self._name, self._value, self.menu = name, value, list(menu or [])
        self.scripts, self.executed = [], 0

    def name(self):
        return self._name

    def value(self):
        return self._value

    def setValue(self, value):  # noqa: N802 (Nuke's API)
        self._value = value

    def setValues(self, items):  # noqa: N802
        self.menu = list(items)

    def fromScript(self, script):  # noqa: N802
        self.scripts.append(script)

    def execute(self):
        self.executed += 1


class Node:
    def __init__(self, cls, name, knobs=(), inputs=(), children=(), frames=(1001, 1003)):
        self.cls, self._name, self.frames = cls, name, frames
        self.knobs = {k.name(): k for k in knobs}
        self.inputs, self.children = list(inputs), {c.name(): c for c in children}

    def Class(self):  # noqa: N802
        return self.cls

    def name(self):
        return self._name

    def knob(self, name):
        return self.knobs.get(name)

    def __getitem__(self, name):
        return self.knobs[name]

    def input(self, i):
        return self.inputs[i] if i < len(self.inputs) else None

    def firstFrame(self):  # noqa: N802
        return self.frames[0]

    def lastFrame(self):  # noqa: N802
        return self.frames[1]

    def node(self, name):
        return self.children.get(name)


def gizmo_node(gizmo: str, name: str, **inputs_children) -> Node:
    """A stand-in with the user knobs (and defaults) of the generated ``gizmo``."""
    parsed = parse_script(generate()[f"{gizmo}.gizmo"]).nodes[0]
    knobs = []
    for k in parsed.user_knobs:
        raw = parsed.value(k.name)
        typed = {3: int, 7: float, 6: lambda text: text == "true"}.get(k.type_id, str)
        knobs.append(Knob(k.name, typed(raw or ("0" if k.type_id in (3, 7) else "")), k.menu))
    children = [Node("Read", "result", [Knob("reload"), Knob("colorspace", "default")])]
    return Node(gizmo, name, knobs, children=children, **inputs_children)


def read(path: str, colorspace: str = "ACES - ACEScg") -> Node:
    return Node("Read", "Read1", [Knob("file", path), Knob("colorspace", colorspace)])


@pytest.fixture
def fake_nuke(monkeypatch, tmp_path):
    nuke = types.ModuleType("nuke")
    nuke.messages, nuke.tasks = [], []

    class ProgressTask:
        def __init__(self, title):
            self.progress, self.text = [], ""
            nuke.tasks.append(self)

        def setProgress(self, p):  # noqa: N802
            self.progress.append(p)

        def setMessage(self, text):  # noqa: N802
            self.text = text

        def isCancelled(self):  # noqa: N802
            return False

    nuke.ProgressTask = ProgressTask
    nuke.filename = lambda node: node["file"].value()
    nuke.root = lambda: Node("Root", str(tmp_path / "shot.nk"))
    nuke.message = nuke.messages.append
    nuke.executeInMainThread = lambda fn, args=(): fn(*args)
    monkeypatch.setitem(sys.modules, "nuke", nuke)
    return nuke


@pytest.fixture
def backend(monkeypatch, tmp_path):
    """A stand-in ``faceswap-vfx``: records its arguments; renders print progress, bakes
    print $FAKE_BAKE; exits with $FAKE_EXIT."""
    script = tmp_path / "fake_backend.py"
    log = tmp_path / "argv.json"
    script.write_text(textwrap.dedent(f"""
        import json, os, sys
        json.dump(sys.argv[1:], open({str(log)!r}, "w"))
        code = int(os.environ.get("FAKE_EXIT", "0"))
        if sys.argv[1:3] == ["gizmos", "bake"]:
            if code:
                print("faceswap-vfx gizmos: error: bad alignment file", file=sys.stderr)
                raise SystemExit(code)
            out = next(a[6:] for a in sys.argv if a.startswith("--out="))
            open(out, "w").write(os.environ.get("FAKE_BAKE", "{{}}"))
            raise SystemExit(0)
        print("Progress: 50%", flush=True)
        print("Progress: 100%", flush=True)
        print("3 written, 0 skipped (already done), 0 without a face, 0 failed")
        raise SystemExit(code)"""))
    monkeypatch.setenv(EXECUTABLE_ENV, f"{shlex.quote(sys.executable)} {shlex.quote(str(script))}")
    return lambda: json.loads(log.read_text())


def test_render_button_runs_the_backend_and_shows_the_result(fake_nuke, backend, tmp_path):
    dot = Node("Dot", "Dot1", inputs=[read("/plates/shot.%04d.exr")])
    node = gizmo_node("FaceSwap", "FaceSwap1", inputs=[dot])
    values = {k: v for k, v in NON_DEFAULT.items() if k != "matte"}
    for name, value in values.items():
        node[name].setValue(value)
    node["align_file"].setValue(str(tmp_path / "shot.align.json"))
    job = callbacks.start_render(node, fake_nuke)
    assert job.wait(30)
    args = build_parser().parse_args(backend())
    assert (args.command, args.plates, args.frames) == ("render", "/plates/shot.%04d.exr",
                                                        "1001-1003")
    assert args.out == str(tmp_path / "faceswap" / "FaceSwap1" / "FaceSwap1.####.exr")
    assert args.align == str(tmp_path / "shot.align.json") and not args.overwrite
    assert params_from_args(args) == schema.resolve(values)
    assert fake_nuke.tasks[0].progress == [50, 100]
    assert node["status"].value() == ("done: 3 written, 0 skipped (already done), 0 without "
                                      "a face, 0 failed")
    assert (node["result_first"].value(), node["result_last"].value()) == (1001, 1003)
    assert node["show_result"].value() is True and node.node("result")["reload"].executed == 1
    assert node["out"].value() == args.out
    assert node.node("result")["colorspace"].value() == "ACES - ACEScg"


def test_a_failed_render_says_so_and_keeps_the_plate(fake_nuke, backend, monkeypatch):
    monkeypatch.setenv("FAKE_EXIT", "1")
    node = gizmo_node("FaceSwap", "FaceSwap2", inputs=[read("/p/s.####.exr")])
    node["frames"].setValue("5-9x2")
    assert callbacks.start_render(node, fake_nuke).wait(30)
    assert backend()[backend().index("render") + 3] == "--frames=5-9x2"
    assert node["status"].value().startswith("failed: finished with errors")
    assert node["show_result"].value() is False
    assert (node["result_first"].value(), node["result_last"].value()) == (5, 9)


def test_render_refuses_bad_knobs_and_plates_it_cannot_read(fake_nuke, backend):
    node = gizmo_node("FaceSwap", "FaceSwap3", inputs=[read("/p/s.####.exr")])
    node["plate_levels"].setValue(11)
    with pytest.raises(ParameterError, match="plate_levels"):
        callbacks.start_render(node, fake_nuke)
    node["plate_levels"].setValue(2)
    node.inputs = [Node("Blur", "Blur1", inputs=[read("/p/s.####.exr")])]
    with pytest.raises(ParameterError, match="not a Read"):
        callbacks.start_render(node, fake_nuke)


def test_a_new_model_refills_the_identity_menu(fake_nuke, tmp_path):
    (tmp_path / "bob.pt").write_bytes(b"")
    (tmp_path / "bob.json").write_text(json.dumps({"identity": "bob"}))
    node = gizmo_node("FaceSwap", "FaceSwap4")
    node["model"].setValue(str(tmp_path / "bob.pt"))
    fake_nuke.thisNode, fake_nuke.thisKnob = (lambda: node), (lambda: node["model"])
    callbacks.knob_changed()
    assert node["identity"].menu == ["bob"] and node["identity"].value() == "bob"
    node["model"].setValue(str(tmp_path / "nobody.pt"))
    callbacks.knob_changed()
    assert "sidecar" in fake_nuke.messages[-1] and node["identity"].menu == ["bob"]


@pytest.mark.parametrize("gizmo, direction", [("FaceAlign", "align"), ("FaceUnalign", "unalign")])
def test_bake_applies_the_backend_knob_scripts(fake_nuke, backend, monkeypatch, gizmo,
                                               direction):
    monkeypatch.setenv("FAKE_BAKE", json.dumps({"face_rotate": "{curve x1001 5 6}",
                                                "out_width": "64"}))
    node = gizmo_node(gizmo, gizmo + "1")
    node["align_file"].setValue("/shots/s.align.json")
    fake_nuke.thisNode, fake_nuke.thisKnob = (lambda: node), (lambda: node["align_file"])
    callbacks.knob_changed()  # the bake runs in the background: the button returns at once
    job = callbacks._JOBS[f"bake:{node.name()}"]
    assert job.wait(30) and job.returncode == 0
    assert node["face_rotate"].scripts == ["{curve x1001 5 6}"]
    assert node["out_width"].scripts == ["64"]
    args = build_parser().parse_args(backend())
    assert (args.align, args.track, args.direction) == ("/shots/s.align.json", "largest",
                                                        direction)
    monkeypatch.setenv("FAKE_EXIT", "1")
    assert callbacks.start_bake(node, fake_nuke).wait(30)
    assert fake_nuke.messages[-1] == f"{node.name()}: bake failed: bad alignment file"
    assert not callbacks._JOBS and not list(Path(tempfile.gettempdir()).glob(
        "faceswap_bake_*.json"))


def test_the_identity_survives_saving_and_reopening_the_script(fake_nuke, tmp_path):
    """Nuke rebuilds the identity menu from the gizmo (no items) on load; onCreate fills it
    from the model again and selects the identity the script saved as text."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"data": [["bob", "d1"], ["al", "d2"]]}))
    node = gizmo_node("FaceSwap", "FaceSwap5")
    node["model"].setValue(str(run))
    fake_nuke.thisNode, fake_nuke.thisKnob = (lambda: node), (lambda: node["model"])
    callbacks.knob_changed()
    node["identity"].setValue("al")
    fake_nuke.thisKnob = lambda: node["identity"]
    callbacks.knob_changed()
    saved = {k: node[k].value() for k in ("model", "identity_saved")}
    reopened = gizmo_node("FaceSwap", "FaceSwap5")  # the gizmo's knobs: an empty menu
    for knob, value in saved.items():
        reopened[knob].setValue(value)
    assert reopened["identity"].menu == [] and reopened["identity"].value() != "al"
    fake_nuke.thisNode = lambda: reopened
    callbacks.on_create()
    assert reopened["identity"].menu == ["bob", "al"] and reopened["identity"].value() == "al"
    (run / "config.json").unlink()  # the model moved away: the saved name stays selected
    assert callbacks.restore_identity(reopened) == "al" and reopened["identity"].menu == ["al"]
