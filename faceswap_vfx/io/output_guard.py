"""Checks before any frame is written: an output never lands on an input, and a sequence
never writes every frame over one file.

Paths are compared resolved (symbolic links, ``..``, relative to absolute) and, where both
exist, as files (:func:`os.path.samefile`: hard links too), frame by frame for patterns.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from faceswap_vfx.errors import OutputIsInputError, PatternError
from faceswap_vfx.io.sequence import FramePattern

Input = str | os.PathLike | None
"""An input: a pattern (one file per frame), a single file, or None (not given)."""


def _same(a: Path, b: Path) -> bool:
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_output_pattern(out: str | os.PathLike, frames: Iterable[int], flag: str = "--out"
                         ) -> None:
    """Raise :class:`PatternError` when ``out`` has no frame token but more than one frame
    would be written through it (each would overwrite the last)."""
    frames = list(frames)
    if len(frames) > 1 and not FramePattern.parse(out).has_token:
        raise PatternError(f"{flag} has no frame token (####, %04d, $F4) but {len(frames)} "
                           f"frames would be written: each would replace the last",
                           path=str(out))


def check_not_inputs(out: str | os.PathLike, frames: Iterable[int],
                     inputs: Mapping[str, Input], flag: str = "--out") -> None:
    """Raise :class:`OutputIsInputError` when a frame of ``out`` is a file of one of
    ``inputs`` (flag name -> pattern or file) for any of ``frames``."""
    pattern = FramePattern.parse(out)
    frames = list(frames) or [0]
    outputs = {frame: pattern.path(frame) for frame in frames}
    for name, given in inputs.items():
        if not given:
            continue
        src = FramePattern.parse(given)
        for frame in frames:
            # a still input (no token) is one file for every frame; so is a still output
            candidates = [src.path(frame)] if src.has_token else [src.path(0)]
            for path in candidates:
                if _same(outputs[frame], path):
                    raise OutputIsInputError(
                        f"{flag} {out} would write over {name} {given}: nothing was written",
                        path=str(path), frame=frame if pattern.has_token else None)


def check_outside(folders: Iterable[str | os.PathLike], inputs: Mapping[str, Iterable[Input]],
                  flag: str = "--out") -> None:
    """Raise :class:`OutputIsInputError` when an input file (flag name -> files) lies
    directly in one of the output ``folders`` (where a writer names files after its
    inputs, e.g. a dataset's ``crops/``)."""
    homes = {os.path.realpath(f) for f in folders}
    for name, files in inputs.items():
        for path in files:
            if path and os.path.realpath(Path(path).parent) in homes:
                raise OutputIsInputError(f"{flag} would write beside {name} in its own folder "
                                         f"(its files could be replaced): nothing was written",
                                         path=str(path))
