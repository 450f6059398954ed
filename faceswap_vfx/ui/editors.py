"""Qt widgets generated from the parameter schema: one editor per :class:`Param`.

Every range, choice, default, unit and tooltip comes from the schema; nothing here states
one. Editors are registered per parameter kind (:data:`EDITORS`); :func:`editor_for` picks
the one for a parameter. An editor emits ``changed(name, value)`` with a value the schema
accepts, and :meth:`ParamEditor.set_value` updates it without emitting. :class:`Section`
holds the editors of one schema group.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtWidgets

from faceswap_vfx import params as schema
from faceswap_vfx.params import Param

SLIDER_STEPS = 1000
"""Positions of a float slider between the parameter's minimum and maximum."""


class ParamEditor(QtWidgets.QWidget):
    """Base class: the editor of one parameter."""

    changed = QtCore.Signal(str, object)

    def __init__(self, param: Param, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.param = param
        self.setObjectName(f"param_{param.name}")
        self.setToolTip(param.help)
        self.layout_ = QtWidgets.QHBoxLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)

    def value(self) -> Any:
        raise NotImplementedError

    def set_value(self, value: Any) -> None:
        """Show ``value`` (checked by the schema) without emitting ``changed``."""
        value = schema.validate(self.param, value)
        blockers = [QtCore.QSignalBlocker(w) for w in self.findChildren(QtWidgets.QWidget)]
        try:
            self._show(value)
        finally:
            for blocker in blockers:
                blocker.unblock()

    def _show(self, value: Any) -> None:
        raise NotImplementedError

    def _emit(self, *_: Any) -> None:
        self.changed.emit(self.param.name, schema.validate(self.param, self.value()))


EDITORS: dict[type[ParamEditor], Callable[[Param], bool]] = {}
"""Editor class -> predicate on the parameter, in the order they are tried."""


def editor(applies: Callable[[Param], bool]):
    """Register an editor class for the parameters ``applies`` accepts."""
    def register(cls: type[ParamEditor]) -> type[ParamEditor]:
        EDITORS[cls] = applies
        return cls
    return register


def editor_for(param: Param, parent: QtWidgets.QWidget | None = None) -> ParamEditor:
    """The editor widget of ``param``, showing its default."""
    for cls, applies in EDITORS.items():
        if applies(param):
            widget = cls(param, parent)
            widget.set_value(param.default)
            return widget
    raise ValueError(f"no editor for parameter {param.name} of kind {param.kind}")


def _decimals(p: Param, step: float) -> int:
    """Enough decimals for the step and for the schema's own numbers."""
    digits = max(2, -math.floor(math.log10(step)))
    for number in (p.minimum, p.maximum, p.default):
        while digits < 6 and abs(round(number, digits) - number) > 1e-9:
            digits += 1
    return digits


def _bounded(p: Param) -> bool:
    return p.minimum is not None and p.maximum is not None


@editor(lambda p: p.kind == "int" and p.power_of_two)
class PowerOfTwoEditor(ParamEditor):
    """A menu of the powers of two within the parameter's range."""

    def __init__(self, param: Param, parent=None):
        super().__init__(param, parent)
        self.combo = QtWidgets.QComboBox()
        k = max(0, math.ceil(math.log2(max(1, param.minimum))))
        while 2 ** k <= param.maximum:
            self.combo.addItem(f"{2 ** k} {param.unit}".strip(), 2 ** k)
            k += 1
        self.combo.setToolTip(param.help)
        self.combo.currentIndexChanged.connect(self._emit)
        self.layout_.addWidget(self.combo)

    def value(self) -> int:
        return int(self.combo.currentData())

    def _show(self, value: int) -> None:
        self.combo.setCurrentIndex(self.combo.findData(value))

    @property
    def choices(self) -> list[int]:
        return [self.combo.itemData(i) for i in range(self.combo.count())]


class _NumberEditor(ParamEditor):
    """A slider over the schema's range beside a spin box showing the unit."""

    number: type = float

    def __init__(self, param: Param, parent=None):
        super().__init__(param, parent)
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.slider.setToolTip(param.help)
        self.spin = self._spin_box()
        self.spin.setToolTip(param.help)
        if param.minimum is not None:
            self.spin.setMinimum(self.number(param.minimum))
        if param.maximum is not None:
            self.spin.setMaximum(self.number(param.maximum))
        if param.unit:
            self.spin.setSuffix(f" {param.unit}")
        self.spin.setKeyboardTracking(False)
        self.slider.setVisible(_bounded(param))
        self.slider.valueChanged.connect(self._slid)
        self.spin.valueChanged.connect(self._typed)
        self.layout_.addWidget(self.slider, 3)
        self.layout_.addWidget(self.spin, 2)

    def _spin_box(self) -> QtWidgets.QAbstractSpinBox:
        raise NotImplementedError

    def value(self):
        return self.spin.value()

    def _show(self, value) -> None:
        self.spin.setValue(value)
        self.slider.setValue(self._position(value))

    def _slid(self, position: int) -> None:
        with QtCore.QSignalBlocker(self.spin):
            self.spin.setValue(self._at(position))
        self._emit()

    def _typed(self, value) -> None:
        with QtCore.QSignalBlocker(self.slider):
            self.slider.setValue(self._position(value))
        self._emit()

    def _position(self, value) -> int:
        raise NotImplementedError

    def _at(self, position: int):
        raise NotImplementedError


@editor(lambda p: p.kind == "int")
class IntEditor(_NumberEditor):
    number = int

    def _spin_box(self):
        spin = QtWidgets.QSpinBox()
        spin.setRange(-2 ** 31, 2 ** 31 - 1)
        return spin

    def __init__(self, param: Param, parent=None):
        super().__init__(param, parent)
        if _bounded(param):
            self.slider.setRange(int(param.minimum), int(param.maximum))

    def _position(self, value) -> int:
        return int(value)

    def _at(self, position: int) -> int:
        return position


@editor(lambda p: p.kind == "float")
class FloatEditor(_NumberEditor):
    def _spin_box(self):
        spin = QtWidgets.QDoubleSpinBox()
        spin.setRange(-1e30, 1e30)
        return spin

    def __init__(self, param: Param, parent=None):
        super().__init__(param, parent)
        if _bounded(param):
            span = param.maximum - param.minimum
            step = 10.0 ** math.floor(math.log10(span / 100)) if span > 0 else 0.01
            self.slider.setRange(0, SLIDER_STEPS)
            self.spin.setDecimals(_decimals(param, step))
            self.spin.setSingleStep(step)
        else:
            self.spin.setDecimals(3)

    def _position(self, value: float) -> int:
        p = self.param
        if not _bounded(p) or p.maximum == p.minimum:
            return 0
        return round((value - p.minimum) / (p.maximum - p.minimum) * SLIDER_STEPS)

    def _at(self, position: int) -> float:
        p = self.param
        value = p.minimum + (p.maximum - p.minimum) * position / SLIDER_STEPS
        return round(min(p.maximum, max(p.minimum, value)), self.spin.decimals())


@editor(lambda p: p.kind == "bool")
class BoolEditor(ParamEditor):
    def __init__(self, param: Param, parent=None):
        super().__init__(param, parent)
        self.check = QtWidgets.QCheckBox()
        self.check.setToolTip(param.help)
        self.check.toggled.connect(self._emit)
        self.layout_.addWidget(self.check)

    def value(self) -> bool:
        return self.check.isChecked()

    def _show(self, value: bool) -> None:
        self.check.setChecked(value)


@editor(lambda p: p.kind == "enum")
class EnumEditor(ParamEditor):
    def __init__(self, param: Param, parent=None):
        super().__init__(param, parent)
        self.combo = QtWidgets.QComboBox()
        self.combo.addItems(list(param.choices))
        self.combo.setToolTip(param.help)
        self.combo.currentIndexChanged.connect(self._emit)
        self.layout_.addWidget(self.combo)

    def value(self) -> str:
        return self.combo.currentText()

    def _show(self, value: str) -> None:
        self.combo.setCurrentIndex(self.combo.findText(value))


@editor(lambda p: p.kind == "string")
class StringEditor(ParamEditor):
    """A line of text, sent when editing ends (not on every key)."""

    def __init__(self, param: Param, parent=None):
        super().__init__(param, parent)
        self.line = QtWidgets.QLineEdit()
        self.line.setToolTip(param.help)
        self.line.editingFinished.connect(self._finished)
        self.layout_.addWidget(self.line)
        self._last = None

    def value(self) -> str:
        return self.line.text().strip()

    def _show(self, value: str) -> None:
        self.line.setText(value)
        self._last = value

    def _finished(self) -> None:
        if self.value() != self._last:
            self._last = self.value()
            self._emit()

    def commit(self) -> None:
        """Send text typed but not yet sent (the field still has the focus)."""
        self._finished()


@editor(lambda p: p.kind == "file")
class FileEditor(StringEditor):
    """A path with a browse button (a file, a folder, or a frame sequence as a pattern)."""

    def __init__(self, param: Param, parent=None):
        super().__init__(param, parent)
        self.browse = QtWidgets.QToolButton()
        self.browse.setText("…")
        self.browse.setToolTip(f"Choose: {param.help}")
        self.browse.setPopupMode(QtWidgets.QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        menu = QtWidgets.QMenu(self.browse)
        menu.addAction("File…", self._pick_file)
        menu.addAction("Folder…", self._pick_folder)
        self.browse.setMenu(menu)
        self.browse.clicked.connect(self._pick_file)
        self.layout_.addWidget(self.browse)

    def _start_dir(self) -> str:
        text = self.value()
        return str(Path(text).parent) if text else ""

    def _pick_file(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, self.param.help, self._start_dir())
        if path:
            self.pick(sequence_pattern(path))

    def _pick_folder(self) -> None:
        path = QtWidgets.QFileDialog.getExistingDirectory(self, self.param.help,
                                                          self._start_dir())
        if path:
            self.pick(path)

    def pick(self, path: str) -> None:
        """Take ``path`` as if typed."""
        self.line.setText(path)
        self._finished()


_NUMBERED = re.compile(r"^(?P<head>.*?)(?P<digits>\d+)(?P<tail>\.[^.\\/]+)$")


def sequence_pattern(path: str) -> str:
    """``shot/plate.1001.exr`` -> ``shot/plate.####.exr`` when the folder holds other frames
    of the sequence; otherwise ``path`` unchanged."""
    m = _NUMBERED.match(Path(path).name)
    if not m:
        return path
    folder = Path(path).parent
    siblings = [p for p in folder.glob(f"{glob_escape(m['head'])}*{glob_escape(m['tail'])}")
                if _NUMBERED.match(p.name) and _NUMBERED.match(p.name)["head"] == m["head"]]
    if len(siblings) < 2:
        return path
    return str(folder / f"{m['head']}{'#' * len(m['digits'])}{m['tail']}")


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


class Section(QtWidgets.QWidget):
    """A titled, foldable group of parameter widgets (``body``); the title's tooltip is the
    group's description."""

    def __init__(self, title: str, description: str, *, expanded: bool = True):
        super().__init__()
        self.setObjectName(f"group_{title}")
        self.title = title
        self.header = QtWidgets.QToolButton()
        self.header.setText(title)
        self.header.setToolTip(description)
        self.header.setCheckable(True)
        self.header.setChecked(expanded)
        self.header.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.header.setAutoRaise(True)
        self.header.setStyleSheet("QToolButton { font-weight: bold; border: none; }")
        self.body = QtWidgets.QFrame()
        self.body.setFrameShape(QtWidgets.QFrame.Shape.StyledPanel)
        self.header.toggled.connect(self.expand)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.header)
        layout.addWidget(self.body)
        self.expand(expanded)

    def expand(self, expanded: bool) -> None:
        self.header.setArrowType(QtCore.Qt.ArrowType.DownArrow if expanded
                                 else QtCore.Qt.ArrowType.RightArrow)
        self.body.setVisible(expanded)
