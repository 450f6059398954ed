"""The blend kernels of ``shaders/`` as their compilers take them: prelude spliced in.

GLSL and BlinkScript have no ``#include``. A kernel file names its prelude on a line of
its own, ``#include "mbb_common.glsl"`` (or ``.blink``), and :func:`kernel_source` puts
the prelude's text there, indented as that line: in a Blink kernel the line stands inside
the kernel's body, where its helpers must be (they call the kernel's ``fetch``). The gizmo
generator and the tests load kernels through it and nowhere else.
"""

from __future__ import annotations

import re
from pathlib import Path


def _shaders_folder() -> Path:
    installed = Path(__file__).resolve().parents[1] / "shaders"  # a wheel's copy (setup.py)
    return installed if installed.is_dir() else Path(__file__).resolve().parents[2] / "shaders"


SHADERS = _shaders_folder()
"""The kernels' folder: ``faceswap_vfx/shaders/`` in an installed wheel (copied there by
``setup.py``'s build), the top-level ``shaders/`` in a source checkout."""

LANGUAGES = ("glsl", "blink")
"""Kernel languages, as file endings."""

INCLUDE = re.compile(r'^(?P<indent>[ \t]*)#include "(?P<name>[\w.]+)"[ \t]*$', re.M)
"""A line that stands for a prelude of ``shaders/``."""


def kernel_source(stem: str, language: str) -> str:
    """The source of ``shaders/<stem>.<language>`` (``language`` "glsl" or "blink") with
    each ``#include "<file>"`` line replaced by ``shaders/<file>``, every line indented as
    the ``#include``. A prelude is of the kernel's language and includes nothing itself."""
    if language not in LANGUAGES:
        raise ValueError(f"unknown shader language {language!r}: one of {LANGUAGES}")
    path = SHADERS / f"{stem}.{language}"

    def splice(include: re.Match[str]) -> str:
        name = include["name"]
        if not name.endswith(f".{language}"):
            raise ValueError(f"{path}: includes {name}, not a .{language} file")
        prelude = (SHADERS / name).read_text()
        if INCLUDE.search(prelude):
            raise ValueError(f"{SHADERS / name}: a prelude cannot include another file")
        return "\n".join(include["indent"] + line if line else line
                         for line in prelude.rstrip("\n").split("\n"))

    return INCLUDE.sub(splice, path.read_text())
