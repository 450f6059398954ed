"""The package's layers import one way only (see faceswap_vfx/__init__.py and STYLE.md)."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "faceswap_vfx"

# Each layer may import itself and the layers listed for it, nothing else of the package.
ALLOWED = {
    "errors": set(),
    "params": {"errors", "io"},  # io only for atomic shot-file writes, imported lazily
    # the one boundary front ends cross to start and read the backend process (stdlib only)
    "backend": {"errors", "params"},
    "core": {"errors"},
    "io": {"errors", "core"},
    "face": {"errors", "params", "core", "io"},
    "samples": {"errors", "params", "core", "io"},
    "model": {"errors", "params", "core"},
    "train": {"errors", "params", "core", "io", "face", "model"},
    "render": {"errors", "params", "core", "io", "face", "model", "train"},
    # nuke: render lazily, in align.py
    "nuke": {"errors", "params", "backend", "core", "io", "face", "render"},
    "demo": {"errors", "params", "core", "io", "face", "samples", "model", "train", "eval",
             "render"},
    "farm": {"errors", "params", "backend", "io"},
    "eval": {"errors", "params", "core", "io", "model", "train"},
    # ui: only the worker process's modules (ui/preview_engine.py, ui/gl_blend.py, which runs
    # the gizmo's GLSL passes from nuke/) go beyond errors and params
    "ui": {"errors", "params", "backend", "core", "io", "face", "render", "nuke"},
    "cli": {"errors", "params", "backend", "core", "io", "face", "samples", "model", "train",
            "render", "nuke", "demo", "farm", "ui", "eval"},
}
# Third-party modules that belong to one layer only.
OWNED = {"dlib": {"face"}, "OpenImageIO": {"io"}, "OpenEXR": {"io"}, "PySide6": {"ui"},
         "nuke": {"nuke"}}


def _layer(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    if rel.name == "__main__.py":  # `python -m` entry points are front ends, like cli/
        return "cli"
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imports(path: Path):
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module


FILES = sorted(p for p in PACKAGE.rglob("*.py") if _layer(p) in ALLOWED)


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_go_one_way(path):
    layer = _layer(path)
    for name in _imports(path):
        top, _, rest = name.partition(".")
        if top == "faceswap_vfx" and rest:
            target = rest.split(".")[0]
            assert target == layer or target in ALLOWED[layer], \
                f"{layer} imports {name}: against the layer order"
        elif top in OWNED:
            assert layer in OWNED[top], f"{top} is imported in {layer}; it belongs to {OWNED[top]}"


def test_the_check_sees_the_layers():
    layers = {_layer(p) for p in FILES}
    assert {"core", "io", "cli", "params", "errors"} <= layers
