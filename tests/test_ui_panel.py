"""The artist panel (faceswap_vfx.ui) with pytest-qt, offscreen: widgets made from the schema,
the preview worker on the demo shot, shot files, a real background render with progress
and cancel, readable errors, a screenshot; and the panel's registration in Nuke."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import dataclasses  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import runpy  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import types  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6 import QtGui, QtWidgets  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from faceswap_vfx import params as schema  # noqa: E402
from faceswap_vfx.cli.main import main  # noqa: E402
from faceswap_vfx.ui import editors  # noqa: E402
from faceswap_vfx.ui.app import PanelWindow  # noqa: E402
from faceswap_vfx.ui.panel import ShotPanel  # noqa: E402
from faceswap_vfx.ui.preview_worker import serve  # noqa: E402
from faceswap_vfx.ui.render_runner import render_message  # noqa: E402

FRAMES = [1001, 1002, 1003]
TIMEOUT = 120_000  # ms; two shared cores: the usual wait is a few seconds
PLUGIN = Path(__file__).resolve().parents[1] / "nuke_gizmos"


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread_in_backends():
    """The preview worker and the renders run torch on one thread: the test machine's
    cores are shared, and idle threads spinning cost more than they give."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OMP_NUM_THREADS", "1")
        yield


@pytest.fixture(scope="module")
def demo_shot(tmp_path_factory) -> Path:
    """The demo's shot (its plate, alignment, shipped model and shot.json) for three
    frames, made as ``faceswap-vfx demo`` makes it, without the demo's own render."""
    from faceswap_vfx.demo import PLATE_SIZE, SHIPPED_MODEL, write_demo_shot
    from faceswap_vfx.face.align_file import save_alignment
    from faceswap_vfx.face.pipeline import align_sequence
    from faceswap_vfx.io.sequence import ImageSequence
    from faceswap_vfx.samples.exr_plate import write_sample_plate

    root = tmp_path_factory.mktemp("demo_shot")
    params = schema.resolve({"identity": "grace_hopper", "model": str(SHIPPED_MODEL)})
    pattern = write_sample_plate(root / "plate", FRAMES, PLATE_SIZE, portrait="astronaut",
                                 motion="drift")
    save_alignment(align_sequence(ImageSequence.find(pattern), params),
                   root / "shot.align.json")
    return write_demo_shot(root, params)


def wait_until(condition, timeout_ms: int = TIMEOUT) -> None:
    for _ in range(timeout_ms // 20):
        if condition():
            return
        QTest.qWait(20)
    raise TimeoutError("the panel did not get there in time")


@pytest.fixture(scope="module")
def panel(qapp, demo_shot):
    """One shown panel on the demo shot, its preview worker running, first preview in."""
    widget = ShotPanel(demo_shot)
    widget.resize(1280, 760)
    widget.show()
    wait_until(lambda: widget.last_result is not None or widget.message.text())
    assert widget.last_result is not None, widget.message.text()
    yield widget
    widget.shutdown()
    widget.close()
    widget.deleteLater()


def settle(panel: ShotPanel) -> None:
    """Wait until the preview worker has answered everything asked so far."""
    wait_until(lambda: not panel.client.busy)


def pixels(image: QtGui.QImage) -> np.ndarray:
    """(H, W, 3) uint8 copy of a QImage."""
    image = image.convertToFormat(QtGui.QImage.Format.Format_RGB888)
    w, h, stride = image.width(), image.height(), image.bytesPerLine()
    rows = np.frombuffer(image.constBits(), np.uint8, count=h * stride).reshape(h, stride)
    return rows[:, :w * 3].reshape(h, w, 3).copy()


def gray(image: QtGui.QImage) -> np.ndarray:
    image = image.convertToFormat(QtGui.QImage.Format.Format_Grayscale8)
    w, h, stride = image.width(), image.height(), image.bytesPerLine()
    return np.frombuffer(image.constBits(), np.uint8, count=h * stride).reshape(h, stride)[
        :, :w].copy()


def group_of(widget: QtWidgets.QWidget) -> str:
    while widget is not None and not widget.objectName().startswith("group_"):
        widget = widget.parentWidget()
    return widget.objectName().removeprefix("group_") if widget is not None else ""


# --- no backend: the panel's own module and widgets ---------------------------------------
def test_the_panel_imports_no_torch():
    code = ("import sys, faceswap_vfx.ui.app, faceswap_vfx.cli.cmd_panel\n"
            "print(' '.join(m for m in ('PySide6', 'torch', 'numpy', 'OpenImageIO', 'dlib')"
            " if m in sys.modules))")
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, timeout=120).stdout.split()
    assert found == ["PySide6"], f"the UI thread's modules import {found[1:]}"


def test_every_parameter_has_a_widget_as_the_schema_declares_it(qtbot):
    panel = ShotPanel()
    qtbot.addWidget(panel)
    assert list(panel.editors) == list(schema.PARAMS)
    for name, p in schema.PARAMS.items():
        widget = panel.editors[name]
        assert group_of(widget) == p.group, name
        assert widget.toolTip() == p.help, name
        assert widget.value() == p.default, name
        assert panel.shot.params[name] == p.default
        if p.kind in ("int", "float") and p.power_of_two:
            powers = [2 ** k for k in range(40) if p.minimum <= 2 ** k <= p.maximum]
            assert widget.choices == powers, name
        elif p.kind in ("int", "float"):
            assert (widget.spin.minimum(), widget.spin.maximum()) == (p.minimum, p.maximum)
            assert widget.spin.suffix().strip() == p.unit
            assert widget.slider.isVisibleTo(widget)
            for end, expected in ((widget.slider.minimum(), p.minimum),
                                  (widget.slider.maximum(), p.maximum)):
                widget.slider.setValue(end)
                assert widget.value() == pytest.approx(expected), name
                assert panel.shot.params[name] == pytest.approx(expected), name
        elif p.kind == "enum":
            combo = widget.combo
            assert [combo.itemText(i) for i in range(combo.count())] == list(p.choices)
        elif p.kind == "bool":
            assert isinstance(widget, editors.BoolEditor)
        elif p.kind == "file":
            assert isinstance(widget, editors.FileEditor) and widget.browse.isVisibleTo(widget)
        else:
            assert isinstance(widget, editors.StringEditor)
    assert {group_of(w) for w in panel.editors.values()} == set(schema.GROUPS)
    sections = {s.title: s.header.toolTip() for s in panel.findChildren(editors.Section)}
    assert list(sections) == ["shot", *schema.GROUPS]  # in the schema's order
    assert all(sections[group] == text for group, text in schema.GROUPS.items())


def test_widgets_take_ranges_and_defaults_from_the_schema_alone(qtbot, monkeypatch):
    p = schema.PARAMS["mask_grow"]
    monkeypatch.setitem(schema.PARAMS, "mask_grow", dataclasses.replace(
        p, minimum=-8.0, maximum=24.0, default=1.5, unit="mm", help="another help"))
    panel = ShotPanel()
    qtbot.addWidget(panel)
    widget = panel.editors["mask_grow"]
    assert (widget.spin.minimum(), widget.spin.maximum(), widget.value()) == (-8.0, 24.0, 1.5)
    assert widget.spin.suffix() == " mm" and widget.toolTip() == "another help"
    widget.slider.setValue(widget.slider.maximum())
    assert panel.shot.params["mask_grow"] == 24.0


def test_shot_file_round_trip(qtbot, tmp_path):
    panel = ShotPanel()
    qtbot.addWidget(panel)
    e = panel.editors
    e["plate_levels"].slider.setValue(4)
    e["mask_sigma"].spin.setValue(3.5)
    e["output_alpha"].check.setChecked(True)
    e["matte_mode"].combo.setCurrentText("replace")
    e["crop_size"].combo.setCurrentIndex(e["crop_size"].combo.findData(128))
    e["track"].line.setText("0")
    e["track"].line.editingFinished.emit()
    e["model"].pick("runs/shot010")
    panel.set_input("out", "swap/swap.####.exr")
    panel.set_input("frames", "1001-1010")
    edited = {"plate_levels": 4, "mask_sigma": 3.5, "output_alpha": True,
              "matte_mode": "replace", "crop_size": 128, "track": "0", "model": "runs/shot010"}
    assert {k: panel.shot.params[k] for k in edited} == edited
    assert panel.dirty

    path = tmp_path / "sh010.shot.json"
    assert panel.save(path) and not panel.dirty
    body = json.loads(path.read_text())
    assert body["params"]["mask_sigma"] == 3.5
    assert body["inputs"] == {"out": "swap/swap.####.exr", "frames": "1001-1010"}

    again = ShotPanel(path)
    qtbot.addWidget(again)
    assert again.shot.params == panel.shot.params and again.shot.inputs == panel.shot.inputs
    assert {n: w.value() for n, w in again.editors.items()} == panel.shot.params
    assert again.input_editors["frames"].value() == "1001-1010" and not again.dirty

    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "faceswap_vfx.shot", "version": 1, "params": {"mask_sigma": 99}}')
    assert not again.load_shot(bad)
    assert "mask_sigma" in again.message.text() and "bad.json" in again.message.text()
    assert again.shot.params["mask_sigma"] == 3.5  # the open shot is kept


def test_the_window_title_follows_the_shot(qtbot, tmp_path):
    window = PanelWindow()
    qtbot.addWidget(window)
    assert window.windowTitle() == "faceswap-vfx panel – unsaved shot"
    window.panel.set_param("plate_levels", 3)
    assert window.windowTitle().endswith("unsaved shot *")
    assert window.panel.save(tmp_path / "sh020.json")
    assert window.windowTitle() == "faceswap-vfx panel – sh020.json"
    assert [a.text() for a in window.menuBar().actions()[0].menu().actions()] == \
        ["&Open…", "&Save", "Save &as…", "&Quit"]


def test_render_needs_an_output_and_says_so(qtbot):
    panel = ShotPanel()
    qtbot.addWidget(panel)
    panel.set_input("plates", "plate/plate.####.exr")
    assert not panel.start_render()
    assert "output pattern" in panel.render_message.text() and not panel.runner.running


def test_render_messages_are_readable():
    summary = "2 written, 0 skipped (already done), 0 without a face, 1 failed: frames 1002"
    ok, text = render_message(1, [
        "Progress: 50%", "INFO faceswap_vfx.render: working colour space srgb_tx (the model's)",
        "ERROR faceswap_vfx.render.job: frame 1002 failed: not a readable image "
        "(file /s/plate.1002.exr, frame 1002)", "Progress: 100%", summary])
    assert not ok
    assert text.splitlines() == [f"Render finished with errors: {summary}",
                                 "frame 1002 failed: not a readable image "
                                 "(file /s/plate.1002.exr, frame 1002)"]
    ok, text = render_message(1, ["usage: faceswap-vfx render [-h]", "faceswap-vfx render: "
                                  "error: the model has no identity 'x'; it has grace"])
    assert (ok, text) == (False, "Render failed: the model has no identity 'x'; it has grace")
    ok, text = render_message(0, ["3 written, 0 skipped (already done), 0 without a face, "
                                  "0 failed"])
    assert ok and text.startswith("Render done: 3 written")
    assert "crashed" in render_message(11, ["Segmentation fault"], crashed=True)[1]


def test_worker_answers_a_bad_request_with_an_error():
    answers = io.BytesIO()
    serve(io.StringIO("not json\n\n[1]\n"), answers, engine=object())
    replies = [json.loads(line) for line in answers.getvalue().splitlines()]
    assert [r["ok"] for r in replies] == [False, False]
    assert all(r["error"].startswith("bad request") for r in replies)


def test_the_preview_blends_with_gl_when_it_can_and_with_python_otherwise(demo_shot,
                                                                         monkeypatch):
    """Same preview image from either blend (8-bit display values, within one code)."""
    pytest.importorskip("moderngl")
    from faceswap_vfx.ui import gl_blend
    from faceswap_vfx.ui.preview_engine import PreviewEngine
    from faceswap_vfx.ui.preview_worker import answer

    try:
        gl_blend.create_context().release()
    except gl_blend.NoGLContext as exc:
        pytest.skip(str(exc))
    shot = schema.load_shot(demo_shot)
    request = {"id": 1, "params": shot.params, "inputs": shot.inputs,
               "cwd": str(demo_shot.parent)}
    monkeypatch.chdir(demo_shot.parent)
    gl_engine = PreviewEngine()
    gl = gl_engine.render(shot.params, shot.inputs)
    assert gl.faces == 1 and gl.blend == "gl"
    assert answer(gl_engine, request)["blend"] == "gl"  # what the panel's status line shows

    def no_context():
        raise gl_blend.NoGLContext("no context, as the test says")

    monkeypatch.setattr(gl_blend, "create_context", no_context)
    engine = PreviewEngine()
    python = engine.render(shot.params, shot.inputs)
    assert python.faces == 1 and python.blend == "python"
    assert answer(engine, request)["blend"] == "python"
    face = gl.mask > 0
    assert (np.abs(python.swap.astype(int) - python.plate).max(-1)[face] > 8).sum() > 100
    assert np.abs(gl.swap.astype(int) - python.swap).max() <= 1


def test_panel_command_help_has_an_example(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["panel", "--help"])
    assert stop.value.code == 0
    assert "faceswap-vfx panel --shot demo_out/shot.json" in capsys.readouterr().out


def test_nuke_menu_registers_the_panel(qtbot, monkeypatch):
    class Menu:
        def addMenu(self, *_, **__):  # noqa: N802 (Nuke's API)
            return self

        def addCommand(self, *_, **__):  # noqa: N802
            pass

    registered = []
    nuke = types.ModuleType("nuke")
    nuke.menu = lambda name: Menu()
    nukescripts = types.ModuleType("nukescripts")
    nukescripts.panels = types.SimpleNamespace(
        registerWidgetAsPanel=lambda *args, **_: registered.append(args))
    monkeypatch.setitem(sys.modules, "nuke", nuke)
    monkeypatch.setitem(sys.modules, "nukescripts", nukescripts)
    runpy.run_path(str(PLUGIN / "menu.py"), run_name="__main__")
    [(widget, title, pane_id)] = registered
    assert title == "FaceSwapVFX Shot" and pane_id
    made = eval(widget, {})  # noqa: S307 (what Nuke's WidgetKnob evaluates)
    assert made is ShotPanel
    docked = made()  # Nuke makes it without arguments
    qtbot.addWidget(docked)
    assert docked.client.process is None  # no shot yet: no preview worker


# --- the preview worker on the demo shot --------------------------------------------------
def test_a_blend_slider_changes_the_shot_and_the_preview_without_the_network(panel, qtbot):
    settle(panel)
    before = panel.last_result
    assert before.faces == 1 and before.frame == FRAMES[0]
    grow = panel.editors["mask_grow"]
    with qtbot.waitSignal(panel.preview_shown, timeout=TIMEOUT) as shown:
        grow.slider.setValue(grow.slider.maximum() * 3 // 4)
    assert panel.shot.params["mask_grow"] == pytest.approx(32.0)
    after = shown.args[0]
    assert not after.network, "a blend parameter must not re-run the network"
    assert (gray(after.mask) > 0).sum() > 1.2 * (gray(before.mask) > 0).sum()
    changed = np.abs(pixels(after.swap).astype(int) - pixels(before.swap)).max(-1) > 2
    assert changed.sum() > 200
    assert "blend (cached face)" in panel.status.text()
    assert after.blend in ("gl", "python")
    assert {"gl": "GL blend", "python": "Python blend"}[after.blend] in panel.status.text()

    sent = panel.client.sent  # a drag: many values while the worker computes one
    sigma = panel.editors["mask_sigma"]
    for value in np.linspace(0.5, 8.0, 16):
        sigma.spin.setValue(float(value))
    wait_until(lambda: not panel.client.busy and panel.client.sent == sent + 2)
    QTest.qWait(100)
    assert panel.client.sent == sent + 2, "stale values were sent to the worker"
    assert panel.shot.params["mask_sigma"] == 8.0
    for name in ("mask_grow", "mask_sigma"):
        panel.set_param(name, schema.PARAMS[name].default)


def test_frames_wipe_mask_overlay_and_pyramid_bands(panel, qtbot):
    settle(panel)
    with qtbot.waitSignal(panel.preview_shown, timeout=TIMEOUT) as shown:
        panel.set_frame(1003)
    assert shown.args[0].frame == 1003 and shown.args[0].network  # a new frame: the network
    assert panel.frame_label.text() == "frame 1003"

    sent = panel.client.sent
    plain = pixels(panel.viewer.grab().toImage())
    panel.wipe_check.setChecked(True)
    wiped = pixels(panel.viewer.grab().toImage())
    panel.mask_check.setChecked(True)
    masked = pixels(panel.viewer.grab().toImage())
    assert np.abs(plain.astype(int) - wiped).sum() > 0
    assert (masked[..., 0].astype(int) - masked[..., 1] > 60).sum() > \
        (wiped[..., 0].astype(int) - wiped[..., 1] > 60).sum() + 500  # red over the face
    assert panel.client.sent == sent, "the wipe and the overlay need no new preview"

    levels = panel.view_combo.count() - 1
    assert levels >= 3
    with qtbot.waitSignal(panel.preview_shown, timeout=TIMEOUT) as shown:
        panel.view_combo.setCurrentIndex(1)
    coarsest = shown.args[0]
    assert (coarsest.level, coarsest.band_source, coarsest.network) == (1, "plate", False)
    with qtbot.waitSignal(panel.preview_shown, timeout=TIMEOUT) as shown:
        panel.view_combo.setCurrentIndex(levels)
    finest = shown.args[0]
    assert (finest.level, finest.band_source) == (levels, "face")
    fine, coarse = pixels(finest.band).astype(int), pixels(coarsest.band).astype(int)
    face = (fine != 128).any(-1) | (coarse != 128).any(-1)  # mid-grey beyond the face's ROI
    assert face.sum() > 2000 and np.abs(fine - coarse)[face].mean() > 10
    banded = pixels(panel.viewer.grab().toImage())
    assert np.abs(banded.astype(int) - masked).mean() > 5
    panel.view_combo.setCurrentIndex(0)
    panel.wipe_check.setChecked(False)
    panel.mask_check.setChecked(False)


def test_a_broken_plate_frame_is_a_readable_error(panel, qtbot, tmp_path, demo_shot):
    settle(panel)
    plates = tmp_path / "plate"
    shutil.copytree(demo_shot.parent / "plate", plates)
    (plates / "plate.1002.exr").write_bytes(b"\x76\x2f\x31\x01 cut short")
    with qtbot.waitSignal(panel.preview_shown, timeout=TIMEOUT):
        panel.set_frame(1002)
    with qtbot.waitSignal(panel.preview_failed, timeout=TIMEOUT):
        panel.set_input("plates", str(plates / "plate.####.exr"))
    text = panel.message.text()
    assert text.startswith("Preview failed:") and "plate.1002.exr" in text and "1002" in text
    assert "Traceback" not in text and panel.viewer.swap is None
    assert panel.frame_slider.isEnabled()  # the other frames can still be looked at
    with qtbot.waitSignal(panel.preview_shown, timeout=TIMEOUT):
        panel.set_frame(1001)
    assert panel.message.text() == ""
    with qtbot.waitSignal(panel.preview_shown, timeout=TIMEOUT):
        panel.set_input("plates", "plate/plate.####.exr")


def test_screenshot_on_the_demo_shot(panel, qtbot, tmp_path):
    settle(panel)
    if panel.last_result is None or panel.frame != 1001:
        with qtbot.waitSignal(panel.preview_shown, timeout=TIMEOUT):
            panel.set_frame(1001)
    path = tmp_path / "panel.png"
    assert panel.grab().save(str(path))
    shot = pixels(QtGui.QImage(str(path)))
    assert shot.shape[:2] == (panel.height(), panel.width())
    colours = np.unique(shot.astype(np.int32) @ np.array([1 << 16, 1 << 8, 1], np.int32))
    assert shot.std() > 30 and len(colours) > 2000
    corner = panel.viewer.mapTo(panel, panel.viewer.rect().topLeft())
    region = shot[corner.y():corner.y() + panel.viewer.height(),
                  corner.x():corner.x() + panel.viewer.width()]
    assert region.std() > 30  # the plate with the swap, not an empty viewer


# --- renders in a background process --------------------------------------------------------
def test_render_runs_in_the_background_with_progress(qtbot, tmp_path, demo_shot):
    panel = ShotPanel(demo_shot)  # hidden: renders without starting a preview worker
    qtbot.addWidget(panel)
    panel.set_input("out", str(tmp_path / "swap" / "swap.####.exr"))
    panel.set_input("frames", "1001-1003")
    panel.set_param("output_alpha", True)  # the render must use the panel's parameters
    seen = []
    panel.runner.progress.connect(seen.append)
    with qtbot.waitSignal(panel.render_finished, timeout=TIMEOUT) as finished:
        panel.render_button.click()
        assert not panel.render_button.isEnabled() and panel.cancel_button.isEnabled()
    ok, message = finished.args
    assert ok, message
    assert "3 written" in message and panel.render_message.text() == message
    assert seen == sorted(seen) and seen[-1] == 100 and len(set(seen)) >= 3
    assert panel.progress.value() == 100 and panel.render_button.isEnabled()
    written = sorted(p.name for p in (tmp_path / "swap").iterdir())
    assert written == [f"swap.{f}.exr" for f in FRAMES]
    from faceswap_vfx.io.image import read_image

    alpha = read_image(tmp_path / "swap" / "swap.1001.exr").part.channels["A"]
    assert alpha.min() == 0.0 and alpha.max() == 1.0  # output_alpha: A is the mask


def test_render_cancel(qtbot, tmp_path, demo_shot):
    from faceswap_vfx.face.align_file import load_alignment, save_alignment

    frames = list(range(1001, 1031))  # long enough to be cancelled half way
    (tmp_path / "plate").mkdir()
    alignment = load_alignment(demo_shot.parent / "shot.align.json")
    for i, frame in enumerate(frames):
        source = FRAMES[i % len(FRAMES)]
        shutil.copy(demo_shot.parent / "plate" / f"plate.{source}.exr",
                    tmp_path / "plate" / f"plate.{frame}.exr")
        alignment.faces[frame] = alignment.faces[source]
    alignment.frames = frames
    save_alignment(alignment, tmp_path / "shot.align.json")
    shutil.copy(demo_shot, tmp_path / "shot.json")

    panel = ShotPanel(tmp_path / "shot.json")
    qtbot.addWidget(panel)
    panel.set_input("out", "out/s.####.exr")
    with qtbot.waitSignal(panel.runner.progress, timeout=TIMEOUT,
                          check_params_cb=lambda percent: percent > 0):
        assert panel.start_render()
    with qtbot.waitSignal(panel.render_finished, timeout=TIMEOUT) as finished:
        panel.cancel_button.click()
    ok, message = finished.args
    assert not ok and "cancelled" in message and panel.render_message.text() == message
    assert not panel.runner.running and panel.render_button.isEnabled()
    assert not panel.cancel_button.isEnabled() and panel.progress.value() < 100
    written = list((tmp_path / "out").glob("s.*.exr"))
    assert 1 <= len(written) < len(frames)
