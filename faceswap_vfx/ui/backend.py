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
import json
from collections.abc import Mapping
from typing import Any

from faceswap_vfx.backend import EXECUTABLE_ENV, backend_command

__all__ = ["EXECUTABLE_ENV", "PREVIEW_WORKER", "backend_command", "dumps", "image_bytes",
           "image_message", "loads"]

PREVIEW_WORKER = ("panel", "--preview-worker")
"""Arguments that turn ``faceswap-vfx`` into the preview worker."""


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
