"""The artist panel: a shot's parameters, a live preview of the swap, a background render.

:class:`ShotPanel` is the whole panel as one widget: the stand-alone window
(:mod:`faceswap_vfx.ui.app`) holds it, and Nuke docks it (``nuke_gizmos/menu.py`` registers
it). It edits a :class:`~faceswap_vfx.params.Shot`: the parameters, through editors made
from the schema, and the shot's inputs (:data:`INPUTS`). The preview is computed by a
worker process and the render by ``faceswap-vfx render``; this module imports no torch,
numpy or OpenImageIO, so it loads in Nuke's Python too.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from faceswap_vfx import params as schema
from faceswap_vfx.errors import FaceswapError
from faceswap_vfx.params import Param, Shot
from faceswap_vfx.ui.editors import ParamEditor, Section, StringEditor, editor_for
from faceswap_vfx.ui.preview_client import PreviewClient, PreviewResult
from faceswap_vfx.ui.render_runner import RenderRunner
from faceswap_vfx.ui.viewer import Viewer

INPUTS = (
    Param("plates", "file", "", "Plate sequence, e.g. plate/plate.####.exr", "shot"),
    Param("align", "file", "", "Alignment file from 'faceswap-vfx align' (empty: faces are "
          "detected)", "shot"),
    Param("out", "string", "", "Output pattern of the render, e.g. swap/swap.####.exr", "shot"),
    Param("frames", "string", "", "Frames to render, e.g. 1001-1024 (empty: every frame)",
          "shot"),
)
"""The shot's inputs (``Shot.inputs``): what the render command takes besides parameters.
Relative paths are relative to the shot file's folder."""

SHOT_FILTER = "Shot files (*.json);;All files (*)"
ERROR_STYLE = "color: #e05050;"
OK_STYLE = "color: #60b060;"


COLLAPSED = ("colour", "faces")
BLEND_NAMES = {"gl": "GL blend", "python": "Python blend"}
"""The status line's words for the worker's ``blend`` answer."""
"""Groups shown folded: set once per show or per shot; the panel is for tuning the rest."""


def label_of(name: str) -> str:
    return name.replace("_", " ")


class ShotPanel(QtWidgets.QWidget):
    """Edit one shot, preview it, render it. Constructible without arguments (Nuke)."""

    preview_shown = QtCore.Signal(object)
    """Emitted with each :class:`PreviewResult` shown."""
    preview_failed = QtCore.Signal(str)
    dirty_changed = QtCore.Signal(bool)
    """Emitted when the shot is edited, saved or opened."""
    render_finished = QtCore.Signal(bool, str)

    def __init__(self, shot: str | Path | None = None, parent: QtWidgets.QWidget | None = None,
                 *, backend: list[str] | None = None):
        super().__init__(parent)
        self.setObjectName("faceswap_vfx_panel")
        self.shot = Shot()
        self.path: Path | None = None
        self.dirty = False
        self.frames: list[int] = []
        self.frame: int | None = None
        self.last_result: PreviewResult | None = None
        self._stale = True
        self.client = PreviewClient(self, backend)
        self.runner = RenderRunner(self, backend)
        self.editors: dict[str, ParamEditor] = {}
        self.input_editors: dict[str, ParamEditor] = {}
        self._build()
        self.client.ready.connect(self._show_preview)
        self.client.failed.connect(self._preview_failed)
        self.client.busy_changed.connect(self._busy)
        self.runner.progress.connect(self.progress.setValue)
        self.runner.finished.connect(self._render_done)
        app = QtWidgets.QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)
        if shot:
            self.load_shot(shot)
        else:
            self.refresh_preview()

    # --- layout -------------------------------------------------------------------------
    def _build(self) -> None:
        top = QtWidgets.QHBoxLayout()
        for text, slot, tip in (("Open…", self.open_dialog, "Open a shot file"),
                                ("Save", self.save, "Save the shot file"),
                                ("Save as…", self.save_as_dialog, "Save the shot file as")):
            button = QtWidgets.QPushButton(text)
            button.setToolTip(tip)
            button.clicked.connect(slot)
            top.addWidget(button)
        self.path_label = QtWidgets.QLabel("unsaved shot")
        self.path_label.setTextInteractionFlags(
            QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        top.addWidget(self.path_label, 1)

        splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        splitter.addWidget(self._parameter_column())
        splitter.addWidget(self._view_column())
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([380, 900])

        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)

    def _section(self, title: str, description: str, params: list[Param],
                 into: dict[str, ParamEditor], slot) -> Section:
        section = Section(title, description, expanded=title not in COLLAPSED)
        form = QtWidgets.QFormLayout(section.body)
        form.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for p in params:
            widget = editor_for(p)
            widget.changed.connect(slot)
            label = QtWidgets.QLabel(label_of(p.name))
            label.setToolTip(p.help)
            form.addRow(label, widget)
            into[p.name] = widget
        return section

    def _parameter_column(self) -> QtWidgets.QWidget:
        column = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(column)
        layout.addWidget(self._section("shot", "The shot's plates, alignment and render output",
                                       list(INPUTS), self.input_editors, self._input_changed))
        for group, description in schema.GROUPS.items():
            params = [p for p in schema.PARAMS.values() if p.group == group]
            layout.addWidget(self._section(group, description, params, self.editors,
                                           self._param_changed))
        layout.addStretch(1)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidget(column)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(360)
        return scroll

    def _view_column(self) -> QtWidgets.QWidget:
        column = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(column)
        options = QtWidgets.QHBoxLayout()
        self.mask_check = QtWidgets.QCheckBox("mask overlay")
        self.mask_check.setToolTip("Show the final mask (the faceswap.mask channel) in red")
        self.mask_check.toggled.connect(lambda on: self.viewer.set_options(mask=on))
        self.wipe_check = QtWidgets.QCheckBox("wipe plate | swap")
        self.wipe_check.setToolTip("Plate left of the line, swap right of it; drag to move")
        self.wipe_check.toggled.connect(lambda on: self.viewer.set_options(wipe=on))
        self.view_combo = QtWidgets.QComboBox()
        self.view_combo.setToolTip("The swap, or one band of the multi-band blend's pyramid "
                                   "around the face (band 1: the coarsest)")
        self.view_combo.addItem("swap", 0)
        self.view_combo.currentIndexChanged.connect(self._view_changed)
        options.addWidget(self.mask_check)
        options.addWidget(self.wipe_check)
        options.addWidget(QtWidgets.QLabel("view"))
        options.addWidget(self.view_combo)
        options.addStretch(1)
        self.status = QtWidgets.QLabel("")
        options.addWidget(self.status)

        self.viewer = Viewer()

        frames = QtWidgets.QHBoxLayout()
        self.frame_slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.frame_slider.setEnabled(False)
        self.frame_slider.setToolTip("Frame of the plate to preview")
        self.frame_slider.valueChanged.connect(self._frame_slid)
        self.frame_label = QtWidgets.QLabel("frame –")
        self.frame_label.setMinimumWidth(90)
        frames.addWidget(self.frame_label)
        frames.addWidget(self.frame_slider, 1)

        self.message = QtWidgets.QLabel("")
        self.message.setObjectName("preview_message")
        self.message.setWordWrap(True)
        self.message.setStyleSheet(ERROR_STYLE)
        self.message.setTextInteractionFlags(
            QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)

        render = QtWidgets.QHBoxLayout()
        self.render_button = QtWidgets.QPushButton("Render")
        self.render_button.setToolTip("Run 'faceswap-vfx render' for the shot's frames in a "
                                      "background process")
        self.render_button.clicked.connect(self.start_render)
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_render)
        self.overwrite_check = QtWidgets.QCheckBox("overwrite")
        self.overwrite_check.setChecked(True)
        self.overwrite_check.setToolTip("Render frames again that are already written")
        self.progress = QtWidgets.QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        render.addWidget(self.render_button)
        render.addWidget(self.cancel_button)
        render.addWidget(self.overwrite_check)
        render.addWidget(self.progress, 1)
        self.render_message = QtWidgets.QLabel("")
        self.render_message.setObjectName("render_message")
        self.render_message.setWordWrap(True)
        self.render_message.setTextInteractionFlags(
            QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)

        layout.addLayout(options)
        layout.addWidget(self.viewer, 1)
        layout.addLayout(frames)
        layout.addWidget(self.message)
        layout.addLayout(render)
        layout.addWidget(self.render_message)
        return column

    # --- editing ------------------------------------------------------------------------
    def set_param(self, name: str, value) -> None:
        """Set a parameter as if edited in its widget."""
        value = schema.validate(name, value)
        self.editors[name].set_value(value)
        self._param_changed(name, value)

    def set_input(self, name: str, value: str) -> None:
        """Set one of the shot's :data:`INPUTS` as if edited."""
        self.input_editors[name].set_value(value)
        self._input_changed(name, value)

    def _param_changed(self, name: str, value) -> None:
        if self.shot.params.get(name) == value:
            return
        self.shot.params[name] = value
        self._set_dirty(True)
        self.refresh_preview()

    def _input_changed(self, name: str, value: str) -> None:
        if str(self.shot.inputs.get(name, "")) == value:
            return
        if value:
            self.shot.inputs[name] = value
        else:
            self.shot.inputs.pop(name, None)
        self._set_dirty(True)
        if name in ("plates", "align"):
            self.refresh_preview()

    def commit(self) -> None:
        """Take text still being typed into a field (saving or rendering by shortcut
        leaves the focus in it)."""
        for widget in [*self.input_editors.values(), *self.editors.values()]:
            if isinstance(widget, StringEditor):
                widget.commit()

    def _set_dirty(self, dirty: bool) -> None:
        self.dirty = dirty
        name = str(self.path) if self.path else "unsaved shot"
        self.path_label.setText(name + (" (modified)" if dirty else ""))
        self.dirty_changed.emit(dirty)

    def folder(self) -> str:
        """Where relative paths of the shot start: the shot file's folder, else the current."""
        return str(self.path.parent) if self.path else os.getcwd()

    # --- shot files ---------------------------------------------------------------------
    def load_shot(self, path: str | Path) -> bool:
        """Open a shot file; a readable message (and False) if it cannot be read."""
        try:
            shot = schema.load_shot(path)
        except FaceswapError as exc:
            self._show_message(f"Cannot open the shot: {exc}")
            return False
        self.shot, self.path = shot, Path(path).resolve()
        for name, widget in self.editors.items():
            widget.set_value(shot.params[name])
        for name, widget in self.input_editors.items():
            widget.set_value(str(shot.inputs.get(name, "")))
        self.frames, self.frame = [], None
        self._show_message("")
        self._set_dirty(False)
        self.refresh_preview()
        return True

    def save(self, path: str | Path | None = None) -> bool:
        """Save the shot (to ``path``, else to its own file, else ask where)."""
        self.commit()
        if path is None and self.path is None:
            return self.save_as_dialog()
        target = Path(path or self.path)
        try:
            schema.save_shot(self.shot, target)
        except FaceswapError as exc:
            self._show_message(f"Cannot save the shot: {exc}")
            return False
        self.path = target.resolve()
        self._set_dirty(False)
        return True

    def open_dialog(self) -> bool:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open a shot", self.folder(),
                                                        SHOT_FILTER)
        return bool(path) and self.load_shot(path)

    def save_as_dialog(self) -> bool:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save the shot as", self.folder(),
                                                        SHOT_FILTER)
        return bool(path) and self.save(path)

    # --- preview ------------------------------------------------------------------------
    def level(self) -> int:
        return int(self.view_combo.currentData() or 0)

    def refresh_preview(self) -> None:
        """Ask the worker for the current frame at the current parameters. A hidden panel
        (a Nuke tab in the background, a panel only used to render) asks when shown."""
        if not self.isVisible():
            self._stale = True
            return
        self._stale = False
        if not self.shot.inputs.get("plates"):
            self.viewer.clear("Open a shot, or set its plates (and a model and identity "
                              "to see the swap)")
            return
        self.client.request(dict(self.shot.params), dict(self.shot.inputs), self.frame,
                            self.level(), self.folder())

    def _busy(self, busy: bool) -> None:
        if busy:
            self.status.setText("updating…" if self.last_result else
                                "starting the preview (loading the model)…")

    def _set_frames(self, frames: list[int], frame: int | None) -> None:
        if frames != self.frames:
            self.frames = frames
            with QtCore.QSignalBlocker(self.frame_slider):
                self.frame_slider.setRange(0, max(0, len(frames) - 1))
        self.frame_slider.setEnabled(len(frames) > 1)
        if frame in frames:
            self.frame = frame
            with QtCore.QSignalBlocker(self.frame_slider):
                self.frame_slider.setValue(frames.index(frame))
            self.frame_label.setText(f"frame {frame}")

    def set_frame(self, frame: int) -> None:
        """Preview ``frame`` (one of the plate's frames)."""
        self.frame_slider.setValue(self.frames.index(frame))

    def _frame_slid(self, index: int) -> None:
        if 0 <= index < len(self.frames):
            self.frame = self.frames[index]
            self.frame_label.setText(f"frame {self.frame}")
            self.refresh_preview()

    def _view_changed(self, _index: int) -> None:
        self.viewer.set_options(band=self.level() > 0)
        if self.level() > 0 and (self.last_result is None
                                 or self.last_result.level != self.level()):
            self.refresh_preview()

    def _set_levels(self, levels: int) -> None:
        if self.view_combo.count() == levels + 1:
            return
        current = self.level()
        with QtCore.QSignalBlocker(self.view_combo):
            self.view_combo.clear()
            self.view_combo.addItem("swap", 0)
            for k in range(1, levels + 1):
                where = " (coarsest)" if k == 1 else " (finest)" if k == levels else ""
                self.view_combo.addItem(f"band {k} of {levels}{where}", k)
            self.view_combo.setCurrentIndex(min(current, levels))

    def _show_preview(self, result: PreviewResult) -> None:
        self.last_result = result
        self._set_frames(result.frames, result.frame)
        if result.levels:
            self._set_levels(result.levels)
        self.viewer.set_images(result.plate, result.swap, result.mask, result.band)
        self.viewer.set_options(band=self.level() > 0)
        faces = f"{result.faces} face" + ("" if result.faces == 1 else "s")
        work = "network + blend" if result.network else "blend (cached face)"
        text = f"{faces} · {work} {result.ms:.0f} ms"
        if result.blend:
            text += " · " + BLEND_NAMES.get(result.blend, result.blend)
        if result.band is not None:
            text += f" · band {result.level} from the {result.band_source}"
        self.status.setText(text)
        self._show_message("\n".join(result.notes), error=False)
        self.preview_shown.emit(result)

    def _preview_failed(self, message: str, frames: list) -> None:
        self.last_result = None
        if frames:
            self._set_frames([int(f) for f in frames], self.frame)
        where = f" frame {self.frame}" if self.frame is not None else ""
        self.viewer.clear(f"No preview of{where or ' the shot'}: see the message below")
        self.status.setText("")
        self._show_message(f"Preview failed: {message}")
        self.preview_failed.emit(message)

    def _show_message(self, text: str, error: bool = True) -> None:
        self.message.setStyleSheet(ERROR_STYLE if error else "color: #c0a040;")
        self.message.setText(text)

    # --- render -------------------------------------------------------------------------
    def start_render(self) -> bool:
        """Render the shot's frames in the background; False (and a message) if it cannot
        start."""
        self.commit()
        shot = Shot(dict(self.shot.params), dict(self.shot.inputs))
        try:
            self.runner.start(shot, self.folder(), overwrite=self.overwrite_check.isChecked())
        except FaceswapError as exc:
            self._render_done(False, f"Cannot render: {exc}")
            return False
        self.render_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.render_message.setStyleSheet("")
        self.render_message.setText("Rendering…")
        return True

    def cancel_render(self) -> None:
        self.runner.cancel()

    def _render_done(self, ok: bool, message: str) -> None:
        self.render_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.render_message.setStyleSheet(OK_STYLE if ok else ERROR_STYLE)
        self.render_message.setText(message)
        self.render_finished.emit(ok, message)

    # --- the end ------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop the preview worker and any render."""
        self.runner.cancel()
        self.client.stop()

    def showEvent(self, event: QtGui.QShowEvent) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        if self._stale:
            self.refresh_preview()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802
        self.shutdown()
        super().closeEvent(event)
