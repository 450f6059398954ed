"""The one boundary between a front end and the ``faceswap-vfx`` backend process.

Nuke's buttons, the artist panel and the farm back ends all start the backend as a command
line and read its output. This module holds what they share, in plain Python (standard
library only: Nuke's own Python imports it):

* :func:`backend_command`: the command that runs ``faceswap-vfx`` ($FACESWAP_VFX_EXE, this
  Python when it has torch, the script on PATH), and :func:`absolute_command` for a farm,
  whose hosts run tasks with their own PATH;
* :func:`backend_env`: the environment for the child, without the host application's Python
  and loader variables (Nuke's ``PYTHONHOME`` would make the backend's Python load Nuke's
  standard library);
* :func:`render_argv`: a render's command line from parameter values (through
  :func:`faceswap_vfx.params.to_argv`);
* the output protocol: :func:`parse_line` turns each line the backend prints into an
  :class:`Event` (``Progress: NN%`` with align's optional ``(label)``, the
  ``faceswap-vfx <command>: error: ...`` line, logged errors, the render's summary);
* :class:`BackendProcess`: the command in the background, its events on a reader thread.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faceswap_vfx.errors import ParameterError
from faceswap_vfx.params import to_argv

EXECUTABLE_ENV = "FACESWAP_VFX_EXE"
"""Environment variable with the backend command, e.g. ``/opt/fsw/.venv/bin/faceswap-vfx``
(split like a shell would), for when ``faceswap-vfx`` is not on the host's PATH."""

EXECUTABLE = "faceswap-vfx"
"""The console script's name."""

HOST_VARIABLES = (
    "PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONEXECUTABLE", "PYTHONUSERBASE",
    "PYTHONNOUSERSITE", "PYTHONSAFEPATH", "PYTHONPLATLIBDIR",
    "LD_LIBRARY_PATH", "LD_PRELOAD", "DYLD_LIBRARY_PATH", "DYLD_FALLBACK_LIBRARY_PATH",
    "DYLD_FRAMEWORK_PATH", "DYLD_INSERT_LIBRARIES",
    "QT_PLUGIN_PATH", "QT_QPA_PLATFORM_PLUGIN_PATH", "QML2_IMPORT_PATH",
    "TCL_LIBRARY", "TK_LIBRARY",
)
"""Variables a host application (Nuke, a DCC's embedded Python) sets for its own Python,
libraries and Qt; the backend runs in its own environment, so :func:`backend_env` drops
them."""


def backend_command(env: Mapping[str, str] | None = None, *,
                    this_python: bool = True) -> list[str]:
    """The command that runs ``faceswap-vfx``: $FACESWAP_VFX_EXE; else, with
    ``this_python``, this Python when it can run the backend (torch importable: the
    stand-alone panel, the CLI itself); else ``faceswap-vfx`` on PATH (Nuke's Python has no
    torch). Raises :class:`ParameterError` when there is none."""
    env = os.environ if env is None else env
    if env.get(EXECUTABLE_ENV):
        return shlex.split(env[EXECUTABLE_ENV])
    python = Path(sys.executable or "")
    if this_python and python.name.lower().startswith("python") \
            and importlib.util.find_spec("torch") is not None:
        return [str(python), "-m", "faceswap_vfx.cli.main"]
    found = shutil.which(EXECUTABLE, path=env.get("PATH"))
    if not found:
        raise ParameterError(f"{EXECUTABLE} is not on PATH: set {EXECUTABLE_ENV} to the "
                             f"{EXECUTABLE} of the environment it is installed in")
    return [found]


def installed_executable() -> str | None:
    """The absolute path of the ``faceswap-vfx`` script installed beside this Python (a
    venv's ``bin/``), else the one on PATH; None when neither exists."""
    folder = Path(sys.executable or "").parent
    for name in (EXECUTABLE, EXECUTABLE + ".exe"):
        if (folder / name).is_file():
            return str((folder / name).absolute())
    found = shutil.which(EXECUTABLE)
    return str(Path(found).absolute()) if found else None


def absolute_command(command: Sequence[str] | str | None = None) -> list[str]:
    """The backend command for farm tasks, whose hosts run with their own PATH: ``command``
    (a list or a shell-quoted string) with a bare program name resolved to its absolute
    path here; by default the installed ``faceswap-vfx`` (:func:`installed_executable`).
    Raises :class:`ParameterError` when the program cannot be found."""
    argv = shlex.split(command) if isinstance(command, str) else list(command or [])
    if not argv:
        found = installed_executable()
        if found is None:
            raise ParameterError(f"{EXECUTABLE} is not installed beside this Python nor on "
                                 "PATH: give the farm's executable (--executable)")
        return [found]
    program = argv[0]
    if os.sep in program or (os.altsep and os.altsep in program):
        return [str(Path(program).expanduser().absolute()), *argv[1:]]
    found = shutil.which(program)
    if found is None:
        raise ParameterError(f"{program!r} is not on PATH here: give the farm's executable "
                             "as an absolute path (--executable)")
    return [str(Path(found).absolute()), *argv[1:]]


def backend_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """``env`` (default: this process's) without :data:`HOST_VARIABLES`."""
    env = os.environ if env is None else env
    return {k: v for k, v in env.items() if k not in HOST_VARIABLES}


def render_argv(values: Mapping[str, Any], *, plates: str, out: str, frames: str,
                align: str = "", overwrite: bool = False, changed_only: bool = False,
                command: Sequence[str] = (EXECUTABLE,)) -> list[str]:
    """``faceswap-vfx render``'s command line: the inputs (``frames`` empty: every frame of
    the plates), then every parameter in ``values`` (all of them, or with ``changed_only``
    those that differ from the schema's defaults) as flags. Raises :class:`ParameterError`
    for a missing input or a bad value."""
    for what, text in (("plates", plates), ("out", out)):
        if not str(text).strip():
            raise ParameterError(f"render needs {what}")
    argv = [*command, "render", f"--plates={plates}", f"--out={out}"]
    if str(frames).strip():
        argv.append(f"--frames={str(frames).strip()}")
    if align:
        argv.append(f"--align={align}")
    if overwrite:
        argv.append("--overwrite")
    return argv + to_argv(values, changed_only=changed_only)


# --- the output protocol -----------------------------------------------------------------
PROGRESS = re.compile(r"^Progress: (?P<percent>\d{1,3})%(?: \((?P<label>.*)\))?\s*$")
"""``Progress: NN%`` (render, blend) or ``Progress: NN% (label)`` (align, extract)."""
ERROR = re.compile(r"^faceswap-vfx(?: [\w-]+)?: error: (?P<text>.*)$")
"""The line the CLI prints to stderr when a command fails."""
LOGGED_ERROR = re.compile(r"^(?:ERROR|CRITICAL) [\w.]+: (?P<text>.*)$")
"""An error logged while the command goes on (a render's failed frame)."""
SUMMARY = re.compile(r"^\d+ written, .* failed")
"""The render's last line: how many frames were written, skipped, without a face, failed."""


@dataclass(frozen=True)
class Event:
    """One output line, understood: ``kind`` is "progress" (``percent``, ``label``),
    "error" (the command failed: ``text``), "frame_error" (logged, the command goes on),
    "summary" or "line" (anything else)."""

    kind: str
    text: str
    percent: int | None = None
    label: str = ""


def parse_line(line: str) -> Event:
    """The :class:`Event` of one output line (trailing newline and spaces ignored)."""
    line = line.rstrip()
    if m := PROGRESS.match(line.strip()):
        return Event("progress", line, min(100, int(m["percent"])), m["label"] or "")
    if m := ERROR.match(line):
        return Event("error", m["text"])
    if m := LOGGED_ERROR.match(line):
        return Event("frame_error", m["text"])
    if SUMMARY.match(line):
        return Event("summary", line)
    return Event("line", line)


def outcome(code: int, events: Sequence[Event], *, cancelled: bool = False
            ) -> tuple[bool, str]:
    """``(ok, message)`` for a finished backend command from its exit code and its events:
    the summary when it succeeded, else the error line, the failed frames or the last
    lines."""
    summary = next((e.text for e in reversed(events) if e.kind == "summary"), "")
    if cancelled:
        return False, "cancelled; the frames written are complete: run again for the rest"
    if code == 0:
        return True, summary or "done"
    errors = [e.text for e in events if e.kind == "error"]
    if errors:
        return False, errors[-1]
    if summary:
        failed = [e.text for e in events if e.kind == "frame_error"][:5]
        return False, "\n".join([f"finished with errors: {summary}", *failed])
    tail = [e.text for e in events if e.kind == "line" and e.text.strip()][-5:]
    what = f"killed by signal {-code}" if code < 0 else f"failed (exit code {code})"
    return False, what + (":\n" + "\n".join(tail) if tail else "")


class BackendProcess:
    """``argv`` in the background with :func:`backend_env`: each output line (stdout and
    stderr together) goes to ``on_event(event)``, and ``on_done(exit_code, events)`` is
    called once at the end with the last ``keep`` non-progress events (both from the reader
    thread; a host marshals them to its main thread)."""

    def __init__(self, argv: Sequence[str], on_event: Callable[[Event], None] | None = None,
                 on_done: Callable[[int, list[Event]], None] | None = None, *,
                 env: Mapping[str, str] | None = None, cwd: str | None = None,
                 keep: int = 50):
        self.argv = list(argv)
        self.on_event, self.on_done = on_event, on_done
        self.env = backend_env(env)
        self.cwd = cwd or None
        self.events: deque[Event] = deque(maxlen=keep)
        self.percent = 0
        self.cancelled = False
        self.returncode: int | None = None
        self.process: subprocess.Popen | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> BackendProcess:
        """Start the process and its reader thread; returns self. Raises
        :class:`ParameterError` naming the command when it cannot start."""
        try:
            self.process = subprocess.Popen(
                self.argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, text=True, errors="replace", bufsize=1,
                env=self.env, cwd=self.cwd)
        except OSError as exc:
            raise ParameterError(f"cannot start {shlex.join(self.argv)}: {exc.strerror or exc}"
                                 ) from None
        self._thread = threading.Thread(target=self._read, name="faceswap-backend",
                                        daemon=True)
        self._thread.start()
        return self

    def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            event = parse_line(line)
            if event.kind == "progress":
                self.percent = event.percent or 0
            else:
                self.events.append(event)
            if self.on_event is not None:
                self.on_event(event)
        self.returncode = self.process.wait()
        if self.on_done is not None:
            self.on_done(self.returncode, list(self.events))

    def outcome(self) -> tuple[bool, str]:
        """:func:`outcome` of the finished process."""
        if self.returncode is None:
            raise RuntimeError("the backend process has not finished")
        return outcome(self.returncode, list(self.events), cancelled=self.cancelled)

    def cancel(self) -> None:
        """Stop the process with SIGTERM (the backend finishes or undoes the frame under way:
        writes are atomic)."""
        if self.process is not None and self.process.poll() is None:
            self.cancelled = True
            self.process.terminate()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the end (callbacks included); True when it ended within ``timeout``."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()
