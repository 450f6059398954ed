"""How the panel reaches the backend: the ``faceswap-vfx`` command and the preview protocol.

Plain Python (no Qt, numpy or torch), imported on both sides of the preview pipe.

The preview worker (``faceswap-vfx panel --preview-worker``) reads one JSON request per
line on stdin and answers each with one JSON line on stdout::

    request  {"id": 7, "params": {...}, "inputs": {"plates": ..., "align": ...},
              "frame": 1003, "level": 0, "max_side": 1280, "cwd": "/shots/sh010"}
    answer   {"id": 7, "ok": true, "frame": 1003, "frames": [1001, ...],
              "plate": IMAGE, "swap": IMAGE, "mask": IMAGE, "band": IMAGE | null,
              "levels": 6, "band_source": "plate" | "face" | "", "faces": 1,
              "network": false, "notes": [...], "ms": 41.0}
    or       {"id": 7, "ok": false, "error": "readable message", "frames": [...]}

``level`` 0 asks for the swap; k >= 1 also for band k of the multi-band blend's Laplacian
pyramid (1: the coarsest). IMAGE is ``{"width", "height", "format": "rgb8" | "gray8",
"data": base64}``, display-referred 8-bit, top row first. ``network`` says whether the
faces were generated for this answer or came from the worker's cache. Relative paths in
``params`` and ``inputs`` are relative to ``cwd`` (the shot file's folder).
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import shlex
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from faceswap_vfx.errors import ParameterError

EXECUTABLE_ENV = "FACESWAP_VFX_EXE"
"""Environment variable with the backend command, e.g. ``/opt/fsw/.venv/bin/faceswap-vfx``
(split like a shell would); the same one the Nuke render glue reads."""

PREVIEW_WORKER = ("panel", "--preview-worker")
"""Arguments that turn ``faceswap-vfx`` into the preview worker."""


def backend_command(env: Mapping[str, str] | None = None) -> list[str]:
    """The command that runs ``faceswap-vfx``: $FACESWAP_VFX_EXE; else this Python when it
    can run the backend (torch installed: the stand-alone panel); else ``faceswap-vfx`` on
    PATH (Nuke's Python has no torch). Raises :class:`ParameterError` (as the Nuke render
    glue does) when there is none."""
    env = os.environ if env is None else env
    if env.get(EXECUTABLE_ENV):
        return shlex.split(env[EXECUTABLE_ENV])
    python = Path(sys.executable or "")
    if python.name.lower().startswith("python") and importlib.util.find_spec("torch"):
        return [str(python), "-m", "faceswap_vfx.cli.main"]
    found = shutil.which("faceswap-vfx", path=env.get("PATH"))
    if not found:
        raise ParameterError(f"faceswap-vfx is not on PATH: set {EXECUTABLE_ENV} to the "
                                   "faceswap-vfx of the environment it is installed in")
    return [found]


def dumps(message: Mapping[str, Any]) -> bytes:
    """One protocol line."""
    return (json.dumps(message, separators=(",", ":")) + "\n").encode()


def loads(line: bytes | str) -> dict[str, Any]:
    """Parse one protocol line; ValueError if it is not a JSON object."""
    message = json.loads(line)
    if not isinstance(message, dict):
        raise ValueError(f"expected a JSON object, got {type(message).__name__}")
    return message


def image_message(data: bytes, width: int, height: int, fmt: str) -> dict[str, Any]:
    """IMAGE: ``data`` holds ``height`` rows of ``width`` pixels, 3 bytes (``"rgb8"``) or 1
    byte (``"gray8"``) each."""
    channels = {"rgb8": 3, "gray8": 1}[fmt]
    if len(data) != width * height * channels:
        raise ValueError(f"{fmt} {width}x{height} needs {width * height * channels} bytes, "
                         f"got {len(data)}")
    return {"width": width, "height": height, "format": fmt,
            "data": base64.b64encode(data).decode("ascii")}


def image_bytes(image: Mapping[str, Any]) -> bytes:
    """The pixels of an IMAGE."""
    return base64.b64decode(image["data"])
