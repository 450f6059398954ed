"""The identities a model offers, read without torch: what fills FaceSwap's identity menu.

An exported ``.pt`` makes one identity, named in its sidecar ``.json`` (``identity``); a
training run folder offers every identity of its ``config.json`` (``data``: pairs of
identity and dataset folder, identities in order of first appearance).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from faceswap_vfx.errors import ModelFileError


def _json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelFileError(f"{what} not found", path=path) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ModelFileError(f"{what} is not readable JSON: {exc}", path=path) from None


def model_identities(model: str | Path) -> list[str]:
    """Identity names of ``model`` (a run folder or an exported ``.pt``); raises
    :class:`ModelFileError` naming the file when there is none to read."""
    if not str(model):
        raise ModelFileError("no model given")
    path = Path(model)
    if path.is_dir():
        config = _json(path / "config.json", "run config")
        try:
            names = [str(name) for name, _ in config["data"]]
        except (KeyError, TypeError, ValueError):
            raise ModelFileError("run config has no 'data' pairs",
                                 path=path / "config.json") from None
        return list(dict.fromkeys(names))
    if path.suffix == ".pt":
        side = path.with_suffix(".json")
        meta = _json(side, "the exported model's sidecar .json")
        if not isinstance(meta, dict) or not isinstance(meta.get("identity"), str):
            raise ModelFileError("sidecar has no 'identity'", path=side)
        return [meta["identity"]]
    raise ModelFileError("expected a training run folder or an exported .pt", path=path)
