"""The Render button: ``faceswap-vfx render`` for the shot in a background process.

The shot's parameters go to the render as flags (:func:`faceswap_vfx.params.to_argv`, through
:func:`faceswap_vfx.backend.render_argv`, as Nuke's and the farm's renders do), with the
plates, output, alignment and frame range; the process runs in the shot file's folder, so
relative paths mean the same to the render as to the preview, and with the environment of
:func:`faceswap_vfx.backend.backend_env`. Its output lines are read by
:func:`faceswap_vfx.backend.parse_line`: progress drives the bar, the summary or the error
becomes the message shown.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Any

from PySide6 import QtCore

from faceswap_vfx.backend import backend_command, backend_env, outcome, parse_line, render_argv
from faceswap_vfx.errors import ParameterError
from faceswap_vfx.params import Shot

KILL_AFTER_MS = 3000
"""A cancelled render that has not ended this long after SIGTERM is killed."""


def render_arguments(shot: Shot, *, overwrite: bool = False) -> list[str]:
    """``render`` and its flags for a shot: its ``inputs`` (``plates``, ``out``, ``align``,
    ``frames``) and every parameter."""
    inputs: dict[str, Any] = shot.inputs
    plates, out = str(inputs.get("plates") or ""), str(inputs.get("out") or "")
    if not plates:
        raise ParameterError("set the shot's plates before rendering")
    if not out:
        raise ParameterError("set the shot's output pattern (out) before rendering, e.g. "
                             "swap/swap.####.exr")
    return render_argv(shot.params, plates=plates, out=out,
                       frames=str(inputs.get("frames") or "").strip(),
                       align=str(inputs.get("align") or ""), overwrite=overwrite, command=())


def render_message(code: int, lines: Iterable[str], *, crashed: bool = False
                   ) -> tuple[bool, str]:
    """``(ok, message)`` for a finished render, from its exit code and its output lines."""
    events = [parse_line(line) for line in lines]
    if crashed:
        tail = [e.text for e in events if e.kind != "progress" and e.text.strip()][-5:]
        return False, "Render crashed" + (":\n" + "\n".join(tail) if tail else "")
    ok, text = outcome(code, events)
    if ok:
        return True, f"Render done: {text if text != 'done' else 'every frame written'}"
    if any(e.kind == "error" for e in events):
        return False, f"Render failed: {text}"
    return False, f"Render {text}"


class RenderRunner(QtCore.QObject):
    """One render at a time, in a background process."""

    started = QtCore.Signal()
    progress = QtCore.Signal(int)
    finished = QtCore.Signal(bool, str)
    """``(ok, message)``: ok only when every frame was written."""

    def __init__(self, parent: QtCore.QObject | None = None,
                 command: list[str] | None = None):
        super().__init__(parent)
        self.command = command
        self.process: QtCore.QProcess | None = None
        self.percent = 0
        self.cancelled = False
        self._lines: deque[str] = deque(maxlen=200)
        self._partial = {"out": b"", "err": b""}

    @property
    def running(self) -> bool:
        return self.process is not None

    def arguments(self) -> list[str]:
        return [] if self.process is None else [self.process.program(),
                                                *self.process.arguments()]

    def start(self, shot: Shot, cwd: str = "", *, overwrite: bool = False) -> None:
        """Start rendering ``shot``; raises FaceswapError (readable) if it cannot start."""
        if self.running:
            raise ParameterError("a render is already running")
        command = self.command or backend_command()
        argv = render_arguments(shot, overwrite=overwrite)
        self.percent, self.cancelled = 0, False
        self._lines.clear()
        self._partial = {"out": b"", "err": b""}
        process = QtCore.QProcess(self)
        environment = QtCore.QProcessEnvironment()
        for key, value in backend_env().items():
            environment.insert(key, value)
        process.setProcessEnvironment(environment)
        process.setProgram(command[0])
        process.setArguments([*command[1:], *argv])
        if cwd:
            process.setWorkingDirectory(cwd)
        process.readyReadStandardOutput.connect(self._read_stdout)
        process.readyReadStandardError.connect(self._read_stderr)
        process.finished.connect(self._finished)
        process.errorOccurred.connect(self._error)
        self.process = process
        process.start()
        self.started.emit()
        self.progress.emit(0)

    def cancel(self) -> None:
        """Stop the render (SIGTERM, then SIGKILL if it lingers). Frames written so far are
        complete: the render writes each one atomically."""
        if self.process is None:
            return
        self.cancelled = True
        self.process.terminate()
        process = self.process
        QtCore.QTimer.singleShot(KILL_AFTER_MS, lambda: self._kill(process))

    def _kill(self, process: QtCore.QProcess) -> None:
        if self.process is process and process.state() != QtCore.QProcess.ProcessState.NotRunning:
            process.kill()

    def _split(self, key: str, data: bytes) -> list[str]:
        text = self._partial[key] + data
        *lines, self._partial[key] = text.split(b"\n")
        return [line.decode(errors="replace").rstrip("\r") for line in lines]

    def _read_stdout(self) -> None:
        for line in self._split("out", bytes(self.process.readAllStandardOutput())):
            event = parse_line(line)
            if event.kind == "progress":
                self.percent = event.percent or 0
                self.progress.emit(self.percent)
            else:
                self._lines.append(line)

    def _read_stderr(self) -> None:
        for line in self._split("err", bytes(self.process.readAllStandardError())):
            if line.strip():
                self._lines.append(line)

    def _done(self, ok: bool, message: str) -> None:
        process, self.process = self.process, None
        if process is not None:
            process.deleteLater()
        self.finished.emit(ok, message)

    def _finished(self, code: int, status: QtCore.QProcess.ExitStatus) -> None:
        self._read_stdout()
        self._read_stderr()
        for key in ("out", "err"):
            if self._partial[key].strip():
                self._lines.append(self._partial[key].decode(errors="replace"))
        if self.cancelled:
            self._done(False, f"Render cancelled at {self.percent}%. The frames written are "
                              "complete; render again to do the rest.")
            return
        crashed = status == QtCore.QProcess.ExitStatus.CrashExit
        self._done(*render_message(code, self._lines, crashed=crashed))

    def _error(self, error: QtCore.QProcess.ProcessError) -> None:
        if error == QtCore.QProcess.ProcessError.FailedToStart and self.process is not None:
            self._done(False, f"Cannot start the render ({' '.join(self.arguments())}): "
                              f"{self.process.errorString()}")
