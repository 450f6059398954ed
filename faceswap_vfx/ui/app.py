"""The stand-alone panel: ``faceswap-vfx panel``, a window around the :class:`ShotPanel`."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from faceswap_vfx.ui.panel import ShotPanel


class PanelWindow(QtWidgets.QMainWindow):
    """The stand-alone window around a :class:`ShotPanel`, with a File menu."""

    def __init__(self, shot: str | Path | None = None, *, backend: list[str] | None = None):
        super().__init__()
        self.panel = ShotPanel(shot, self, backend=backend)
        self.setCentralWidget(self.panel)
        menu = self.menuBar().addMenu("&File")
        keys = QtGui.QKeySequence.StandardKey
        for text, slot, key in (("&Open…", self.panel.open_dialog, keys.Open),
                                ("&Save", self.panel.save, keys.Save),
                                ("Save &as…", self.panel.save_as_dialog, keys.SaveAs),
                                ("&Quit", self.close, keys.Quit)):
            action = menu.addAction(text)
            action.setShortcut(key)
            action.triggered.connect(lambda _=False, s=slot: s())
        self.panel.dirty_changed.connect(self._title)
        self._title()

    def _title(self, *_: object) -> None:
        name = self.panel.path.name if self.panel.path else "unsaved shot"
        self.setWindowTitle(f"faceswap-vfx panel – {name}{' *' if self.panel.dirty else ''}")

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802
        if self.panel.dirty:
            answer = QtWidgets.QMessageBox.question(
                self, "Unsaved shot", "Save the shot before closing?",
                QtWidgets.QMessageBox.StandardButton.Save
                | QtWidgets.QMessageBox.StandardButton.Discard
                | QtWidgets.QMessageBox.StandardButton.Cancel)
            if answer == QtWidgets.QMessageBox.StandardButton.Cancel or (
                    answer == QtWidgets.QMessageBox.StandardButton.Save
                    and not self.panel.save()):
                event.ignore()
                return
        self.panel.shutdown()
        super().closeEvent(event)


def run_panel(shot: str | Path | None = None, screenshot: str | Path | None = None) -> int:
    """Open the stand-alone panel; with ``screenshot``, save a PNG of the window once the
    first preview (or its error) is shown, then quit. Returns the exit code."""
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    window = PanelWindow(shot)
    window.resize(1360, 800)
    window.show()
    if screenshot:
        def snap(*_: object) -> None:
            window.grab().save(str(screenshot))
            window.panel.dirty = False
            window.close()

        window.panel.preview_shown.connect(lambda *_: QtCore.QTimer.singleShot(200, snap))
        window.panel.preview_failed.connect(lambda *_: QtCore.QTimer.singleShot(200, snap))
        if not window.panel.shot.inputs.get("plates"):
            QtCore.QTimer.singleShot(200, snap)
    return app.exec()
