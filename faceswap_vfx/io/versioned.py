"""Versioned JSON files (shot files, alignment files, dataset manifests): one way to read
them and to check their format name and version, with errors naming the file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from faceswap_vfx.errors import FaceswapError


def read_json(path: str | Path, what: str, error: type[FaceswapError]) -> Any:
    """The JSON in ``path``; ``error`` names ``what`` and the file when it is missing or
    not readable JSON."""
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise error(f"{what} not found", path=path) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise error(f"{what} is not readable JSON: {exc}", path=path) from None


def check_version(body: Any, path: str | Path, *, fmt: str, version: int, kind: str,
                  error: type[FaceswapError], newer: type[FaceswapError] | None = None
                  ) -> int:
    """Check ``body["format"] == fmt`` and ``1 <= body["version"] <= version``; return the
    file's version. ``kind`` completes "not ...", e.g. ``"a shot file"``. A newer version
    raises ``newer`` (default ``error``)."""
    if not isinstance(body, dict) or body.get("format") != fmt:
        raise error(f"not {kind} (expected format {fmt!r})", path=path)
    found = body.get("version")
    if not isinstance(found, int) or isinstance(found, bool) or found < 1:
        raise error(f"no valid version: {found!r} is not a positive integer", path=path)
    if found > version:
        raise (newer or error)(f"version {found} was written by a newer faceswap_vfx; this one "
                               f"reads up to version {version}: update faceswap_vfx", path=path)
    return found
