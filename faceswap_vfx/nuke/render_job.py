"""The FaceSwap gizmo's render: ``faceswap-vfx render`` in a background process.

Plain functions and one class, no Nuke: the command line from knob values (every schema
parameter as its flag, checked by the schema first), the ``Progress: NN%`` lines the
render prints, and :class:`RenderJob`, which runs the command on a thread and reports
progress and the end through callbacks (Nuke's glue marshals them to its main thread).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import threading
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from faceswap_vfx import params as schema
from faceswap_vfx.errors import ParameterError

EXECUTABLE_ENV = "FACESWAP_VFX_EXE"
"""Environment variable with the backend command, e.g. ``/opt/fsw/.venv/bin/faceswap-vfx``
(split like a shell would), for when ``faceswap-vfx`` is not on Nuke's PATH."""

_PROGRESS = re.compile(r"^Progress: (\d{1,3})%\s*$")


def backend_command(env: Mapping[str, str] | None = None) -> list[str]:
    """The command that runs ``faceswap-vfx``: $FACESWAP_VFX_EXE, else the one on PATH.
    Raises :class:`ParameterError` when there is neither."""
    env = os.environ if env is None else env
    if env.get(EXECUTABLE_ENV):
        return shlex.split(env[EXECUTABLE_ENV])
    found = shutil.which("faceswap-vfx", path=env.get("PATH"))
    if not found:
        raise ParameterError(f"faceswap-vfx is not on PATH: set {EXECUTABLE_ENV} to the "
                             "faceswap-vfx of the environment it is installed in")
    return [found]


def param_flags(values: Mapping[str, Any]) -> list[str]:
    """``--flag=value`` for each schema parameter in ``values`` (checked and coerced by
    the schema; booleans as ``--flag`` / ``--no-flag``), in schema order."""
    out = []
    for name, p in schema.PARAMS.items():
        if name not in values:
            continue
        value = schema.validate(p, values[name])
        if p.kind == "bool":
            out.append(p.flag if value else "--no-" + p.flag[2:])
        else:
            out.append(f"{p.flag}={value}")
    unknown = sorted(set(values) - set(schema.PARAMS))
    if unknown:
        raise ParameterError(f"unknown parameters {', '.join(unknown)}")
    return out


def render_command(values: Mapping[str, Any], *, plates: str, out: str, frames: str,
                   align: str = "", overwrite: bool = False,
                   executable: list[str] | None = None) -> list[str]:
    """The ``faceswap-vfx render`` command line for a FaceSwap node's values."""
    for what, text in (("plates", plates), ("out", out), ("frames", frames)):
        if not text:
            raise ParameterError(f"render needs {what}")
    argv = [*(executable or ["faceswap-vfx"]), "render", f"--plates={plates}", f"--out={out}",
            f"--frames={frames}"]
    if align:
        argv.append(f"--align={align}")
    if overwrite:
        argv.append("--overwrite")
    return argv + param_flags(values)


def default_output(script: str, node: str) -> str:
    """``faceswap/<node>/<node>.####.exr`` beside the Nuke script; ParameterError for a
    script never saved (Nuke calls the root of an unsaved script "Root")."""
    if not script or script == "Root":
        raise ParameterError("save the Nuke script first, or set the output ('out')")
    return str(Path(script).resolve().parent / "faceswap" / node / f"{node}.####.exr")


def parse_progress(line: str) -> int | None:
    """The percentage of a ``Progress: NN%`` line, else None."""
    m = _PROGRESS.match(line.strip())
    return min(100, int(m.group(1))) if m else None


class RenderJob:
    """Run ``argv`` in the background. ``on_progress(percent)`` for each progress line,
    ``on_line(line)`` for every other output line, ``on_done(exit_code, last_lines)`` once
    at the end (all called from the reader thread)."""

    def __init__(self, argv: list[str], on_progress: Callable[[int], None],
                 on_done: Callable[[int, str], None],
                 on_line: Callable[[str], None] | None = None,
                 env: Mapping[str, str] | None = None, keep: int = 20):
        self.argv = list(argv)
        self.on_progress, self.on_done, self.on_line = on_progress, on_done, on_line
        self.env = None if env is None else dict(env)
        self.tail: deque[str] = deque(maxlen=keep)
        self.process: subprocess.Popen | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> RenderJob:
        """Start the process and the thread reading its output; returns self."""
        self.process = subprocess.Popen(self.argv, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        text=True, bufsize=1, env=self.env)
        self._thread = threading.Thread(target=self._read, name="faceswap-render",
                                        daemon=True)
        self._thread.start()
        return self

    def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            line = line.rstrip("\n")
            percent = parse_progress(line)
            if percent is not None:
                self.on_progress(percent)
            else:
                self.tail.append(line)
                if self.on_line:
                    self.on_line(line)
        code = self.process.wait()
        self.on_done(code, "\n".join(self.tail))

    def cancel(self) -> None:
        """Stop the process (the render leaves no half-written frame: writes are atomic)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the end (callbacks included); True when it ended within ``timeout``."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()
