"""The preview worker process: ``faceswap-vfx panel --preview-worker``.

Reads requests on stdin, answers on stdout (see :mod:`faceswap_vfx.ui.backend`), logs on
stderr. Anything else that prints is sent to stderr too, so stdout carries protocol lines
only. One request at a time; the panel sends the next when the answer is in, so there is
never a queue of stale requests. Ends on end of input.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import IO, Any

from faceswap_vfx.errors import FaceswapError
from faceswap_vfx.ui.backend import dumps, image_message, loads

log = logging.getLogger(__name__)


def answer(engine, request: dict[str, Any]) -> dict[str, Any]:
    """The answer to one request (never raises for the request's own problems)."""
    from faceswap_vfx.ui.preview_engine import Preview

    rid = request.get("id")
    t0 = time.perf_counter()
    try:
        cwd = request.get("cwd")
        if cwd:
            os.chdir(cwd)
        preview: Preview = engine.render(
            dict(request.get("params") or {}), dict(request.get("inputs") or {}),
            request.get("frame"), int(request.get("level") or 0),
            int(request.get("max_side") or 1280))
    except FaceswapError as exc:
        return {"id": rid, "ok": False, "error": str(exc), "frames": _frames(engine, request)}
    except OSError as exc:
        return {"id": rid, "ok": False, "error": f"{exc.strerror or exc}: {exc.filename}",
                "frames": _frames(engine, request)}
    except Exception as exc:  # a bug: keep serving, say what it was, log the traceback
        log.exception("preview request %s failed", rid)
        return {"id": rid, "ok": False, "error": f"internal error: {type(exc).__name__}: {exc}",
                "frames": _frames(engine, request)}
    return {
        "id": rid, "ok": True, "frame": preview.frame, "frames": preview.frames,
        "plate": _image(preview.plate), "swap": _image(preview.swap),
        "mask": _image(preview.mask),
        "band": None if preview.band is None else _image(preview.band),
        "level": preview.level, "levels": preview.levels, "band_source": preview.band_source,
        "faces": preview.faces, "network": preview.network, "blend": preview.blend,
        "notes": preview.notes,
        "ms": round(1000 * (time.perf_counter() - t0), 1),
    }


def _image(pixels) -> dict[str, Any]:
    h, w = pixels.shape[:2]
    return image_message(pixels.tobytes(), w, h, "rgb8" if pixels.ndim == 3 else "gray8")


def _frames(engine, request: dict[str, Any]) -> list[int]:
    """The plate's frames if they can be found (so the panel's frame slider still works
    when one frame is broken), else none."""
    try:
        return list(engine.sequence(str((request.get("inputs") or {})["plates"])).frames)
    except (FaceswapError, KeyError, OSError):
        return []


def serve(requests: IO[str], answers: IO[bytes], engine=None) -> int:
    """Answer every request line of ``requests`` on ``answers``, until end of input."""
    if engine is None:
        from faceswap_vfx.ui.preview_engine import PreviewEngine

        engine = PreviewEngine()
    for line in requests:
        if not line.strip():
            continue
        try:
            request = loads(line)
        except ValueError as exc:
            reply = {"id": None, "ok": False, "error": f"bad request: {exc}"}
        else:
            reply = answer(engine, request)
        answers.write(dumps(reply))
        answers.flush()
    return 0


def main() -> int:
    """Run the worker on this process's stdin/stdout."""
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints: to stderr
    log.info("preview worker ready (pid %d)", os.getpid())
    return serve(sys.stdin, answers)
