"""The Render button: ``faceswap-vfx render`` for the shot in a background process.

The panel's parameters go to the render as a shot file (``--shot``), the plates, output,
alignment and frame range as flags; the process runs in the shot file's folder, so
relative paths mean the same to the render as to the preview. Its ``Progress: NN%`` lines
drive the progress bar; its summary line or error line becomes the message shown.
"""

from __future__ import annotations

import re
import tempfile
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from PySide6 import QtCore

from faceswap_vfx.errors import ParameterError
from faceswap_vfx.params import Shot, save_shot
from faceswap_vfx.ui.backend import backend_command

PROGRESS = re.compile(r"^Progress: (\d{1,3})%\s*$")
ERROR = re.compile(r"^faceswap-vfx \w+: error: (.*)$")
SUMMARY = re.compile(r"^\d+ written, .*failed")
KILL_AFTER_MS = 3000
"""A cancelled render that has not ended this long after SIGTERM is killed."""


def parse_progress(line: str) -> int | None:
    """The percentage of a ``Progress: NN%`` line, else None."""
    m = PROGRESS.match(line.strip())
    return None if m is None else min(100, int(m.group(1)))


def render_arguments(inputs: dict[str, Any], shot_file: str | Path, *,
                     overwrite: bool = False) -> list[str]:
    """``render`` and its flags for a shot's ``inputs`` (``plates``, ``out``, ``align``,
    ``frames``) and the shot file holding its parameters."""
    plates, out = str(inputs.get("plates") or ""), str(inputs.get("out") or "")
    if not plates:
        raise ParameterError("set the shot's plates before rendering")
    if not out:
        raise ParameterError("set the shot's output pattern (out) before rendering, e.g. "
                             "swap/swap.####.exr")
    argv = ["render", "--plates", plates, "--out", out, "--shot", str(shot_file)]
    if inputs.get("align"):
        argv += ["--align", str(inputs["align"])]
    if str(inputs.get("frames") or "").strip():
        argv += ["--frames", str(inputs["frames"]).strip()]
    if overwrite:
        argv.append("--overwrite")
    return argv


def render_message(code: int, stdout: Iterable[str], stderr: Iterable[str], *,
                   crashed: bool = False) -> tuple[bool, str]:
    """``(ok, message)`` for a finished render, from its exit code and its output."""
    stdout, stderr = list(stdout), list(stderr)
    summary = next((line for line in reversed(stdout) if SUMMARY.match(line)), "")
    if code == 0 and not crashed:
        return True, f"Render done: {summary or 'every frame written'}"
    errors = [m.group(1) for line in stderr if (m := ERROR.match(line))]
    if errors:
        return False, f"Render failed: {errors[-1]}"
    if summary and not crashed:
        failed = [line.split(": ", 1)[-1] for line in stderr if " failed: " in line][:5]
        return False, "\n".join([f"Render finished with errors: {summary}", *failed])
    tail = "\n".join(stderr[-5:])
    what = "crashed" if crashed else f"failed (exit code {code})"
    return False, f"Render {what}" + (f":\n{tail}" if tail else "")


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
        self._folder: tempfile.TemporaryDirectory | None = None
        self._stdout: deque[str] = deque(maxlen=200)
        self._stderr: deque[str] = deque(maxlen=200)
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
        folder = tempfile.TemporaryDirectory(prefix="faceswap_vfx_panel_")
        shot_file = Path(folder.name) / "render.shot.json"
        try:
            argv = render_arguments(shot.inputs, shot_file, overwrite=overwrite)
            save_shot(shot, shot_file)
        except Exception:
            folder.cleanup()
            raise
        self._folder = folder
        self.percent, self.cancelled = 0, False
        self._stdout.clear()
        self._stderr.clear()
        self._partial = {"out": b"", "err": b""}
        process = QtCore.QProcess(self)
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

    def _lines(self, key: str, data: bytes) -> list[str]:
        text = self._partial[key] + data
        *lines, self._partial[key] = text.split(b"\n")
        return [line.decode(errors="replace").rstrip("\r") for line in lines]

    def _read_stdout(self) -> None:
        for line in self._lines("out", bytes(self.process.readAllStandardOutput())):
            self._stdout.append(line)
            percent = parse_progress(line)
            if percent is not None:
                self.percent = percent
                self.progress.emit(percent)

    def _read_stderr(self) -> None:
        for line in self._lines("err", bytes(self.process.readAllStandardError())):
            if line.strip():
                self._stderr.append(line)

    def _done(self, ok: bool, message: str) -> None:
        process, self.process = self.process, None
        if process is not None:
            process.deleteLater()
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None
        self.finished.emit(ok, message)

    def _finished(self, code: int, status: QtCore.QProcess.ExitStatus) -> None:
        self._read_stdout()
        self._read_stderr()
        for key, store in (("out", self._stdout), ("err", self._stderr)):
            if self._partial[key].strip():
                store.append(self._partial[key].decode(errors="replace"))
        if self.cancelled:
            self._done(False, f"Render cancelled at {self.percent}%. The frames written are "
                              "complete; render again to do the rest.")
            return
        crashed = status == QtCore.QProcess.ExitStatus.CrashExit
        self._done(*render_message(code, self._stdout, self._stderr, crashed=crashed))

    def _error(self, error: QtCore.QProcess.ProcessError) -> None:
        if error == QtCore.QProcess.ProcessError.FailedToStart and self.process is not None:
            self._done(False, f"Cannot start the render ({' '.join(self.arguments())}): "
                              f"{self.process.errorString()}")
