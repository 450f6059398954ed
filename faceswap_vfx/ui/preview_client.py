"""The UI side of the preview: the worker process, coalesced requests, answers as QImages.

At most one request is in flight. While the worker computes, newer requests replace each
other in a single pending slot, and the newest is sent when the answer arrives: dragging a
slider never builds a queue, and the last position is always the one shown. The worker
starts on the first request and again after it stopped; the UI thread never waits for it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from PySide6 import QtCore, QtGui

from faceswap_vfx.errors import ParameterError
from faceswap_vfx.ui.backend import (
    PREVIEW_WORKER,
    backend_command,
    dumps,
    image_bytes,
    loads,
)

STOP_GRACE_MS = 300
"""How long :meth:`PreviewClient.stop` waits for the worker to end before killing it."""

FORMATS = {"rgb8": (QtGui.QImage.Format.Format_RGB888, 3),
           "gray8": (QtGui.QImage.Format.Format_Grayscale8, 1)}


def to_qimage(image: dict[str, Any]) -> QtGui.QImage:
    """A protocol IMAGE as a QImage that owns its pixels."""
    fmt, channels = FORMATS[image["format"]]
    w, h = int(image["width"]), int(image["height"])
    data = image_bytes(image)
    return QtGui.QImage(data, w, h, w * channels, fmt).copy()


@dataclass
class PreviewResult:
    """One answer of the worker, images decoded."""

    frame: int
    frames: list[int]
    plate: QtGui.QImage
    swap: QtGui.QImage
    mask: QtGui.QImage
    band: QtGui.QImage | None
    level: int = 0
    levels: int = 0
    band_source: str = ""
    faces: int = 0
    network: bool = False
    notes: list[str] = field(default_factory=list)
    ms: float = 0.0
    blend: str = ""
    """Which multi-band blend the worker ran: "gl", "python", or "" (none)."""

    @classmethod
    def from_message(cls, m: dict[str, Any]) -> PreviewResult:
        return cls(int(m["frame"]), [int(f) for f in m["frames"]], to_qimage(m["plate"]),
                   to_qimage(m["swap"]), to_qimage(m["mask"]),
                   None if m.get("band") is None else to_qimage(m["band"]),
                   int(m.get("level", 0)), int(m.get("levels", 0)), m.get("band_source", ""),
                   int(m.get("faces", 0)), bool(m.get("network")), list(m.get("notes", [])),
                   float(m.get("ms", 0.0)), str(m.get("blend", "")))


class PreviewClient(QtCore.QObject):
    """Talks to one preview worker process."""

    ready = QtCore.Signal(object)
    """A :class:`PreviewResult`."""
    failed = QtCore.Signal(str, list)
    """A readable message, and the plate's frames when known."""
    busy_changed = QtCore.Signal(bool)

    def __init__(self, parent: QtCore.QObject | None = None, command: list[str] | None = None):
        super().__init__(parent)
        self.command = command
        self.process: QtCore.QProcess | None = None
        self._pending: dict[str, Any] | None = None
        self._in_flight: int | None = None
        self._next_id = 0
        self._buffer = bytearray()
        self._stderr: deque[str] = deque(maxlen=12)
        self.sent = 0
        """Requests sent to the worker so far (coalesced ones are never sent)."""

    @property
    def busy(self) -> bool:
        return self._in_flight is not None

    def request(self, params: dict[str, Any], inputs: dict[str, Any], frame: int | None,
                level: int = 0, cwd: str = "", max_side: int = 1280) -> None:
        """Ask for a preview; replaces any request not yet sent."""
        self._pending = {"params": params, "inputs": inputs, "frame": frame, "level": level,
                         "cwd": cwd, "max_side": max_side}
        self._pump()

    def stop(self) -> None:
        """End the worker (closing its input ends it; killed if it does not end)."""
        process, self.process = self.process, None
        self._pending, self._in_flight = None, None
        if process is None:
            return
        for signal, slot in ((process.finished, self._finished),
                             (process.errorOccurred, self._error),
                             (process.readyReadStandardOutput, self._read),
                             (process.readyReadStandardError, self._read_stderr)):
            signal.disconnect(slot)
        if process.state() != QtCore.QProcess.ProcessState.NotRunning:
            process.closeWriteChannel()  # the worker ends at the end of its input ...
            if not process.waitForFinished(STOP_GRACE_MS):
                process.kill()  # ... or now: it holds nothing worth a clean exit
                process.waitForFinished(3000)
        process.deleteLater()

    # --- the worker ---------------------------------------------------------------------
    def _start(self) -> bool:
        try:
            command = self.command or backend_command()
        except ParameterError as exc:
            self._pending = None
            self.failed.emit(f"cannot start the preview: {exc}", [])
            return False
        process = QtCore.QProcess(self)
        process.setProgram(command[0])
        process.setArguments([*command[1:], *PREVIEW_WORKER])
        process.readyReadStandardOutput.connect(self._read)
        process.readyReadStandardError.connect(self._read_stderr)
        process.finished.connect(self._finished)
        process.errorOccurred.connect(self._error)
        self._buffer.clear()
        self._stderr.clear()
        self.process = process
        process.start()
        return True

    def _pump(self) -> None:
        if self._in_flight is not None or self._pending is None:
            return
        if self.process is None and not self._start():
            return
        self._next_id += 1
        message, self._pending = {"id": self._next_id, **self._pending}, None
        self._in_flight = self._next_id
        self.process.write(dumps(message))
        self.sent += 1
        self.busy_changed.emit(True)

    def _read(self) -> None:
        self._buffer += bytes(self.process.readAllStandardOutput())
        while b"\n" in self._buffer:
            line, _, rest = self._buffer.partition(b"\n")
            self._buffer = bytearray(rest)
            self._answer(bytes(line))

    def _answer(self, line: bytes) -> None:
        try:
            message = loads(line)
        except ValueError:
            self._stderr.append(line.decode(errors="replace"))
            return
        if message.get("id") != self._in_flight:
            return
        self._in_flight = None
        if message.get("ok"):
            self.ready.emit(PreviewResult.from_message(message))
        else:
            self.failed.emit(str(message.get("error")), list(message.get("frames") or []))
        if self._pending is None:
            self.busy_changed.emit(False)
        self._pump()

    def _read_stderr(self) -> None:
        text = bytes(self.process.readAllStandardError()).decode(errors="replace")
        self._stderr.extend(line for line in text.splitlines() if line.strip())

    def _lost(self, why: str) -> None:
        process, self.process = self.process, None
        self._in_flight = None
        if process is not None:
            process.deleteLater()
        tail = "\n".join(self._stderr)
        self.failed.emit(f"the preview worker {why}" + (f":\n{tail}" if tail else ""), [])
        self.busy_changed.emit(False)

    def _finished(self, code: int, status: QtCore.QProcess.ExitStatus) -> None:
        crashed = status == QtCore.QProcess.ExitStatus.CrashExit
        self._lost("crashed" if crashed else f"stopped (exit code {code})")

    def _error(self, error: QtCore.QProcess.ProcessError) -> None:
        if error == QtCore.QProcess.ProcessError.FailedToStart and self.process is not None:
            command = " ".join([self.process.program(), *self.process.arguments()])
            self._lost(f"could not start ({command}): {self.process.errorString()}")
