"""Render a chunk of a plate sequence, the way a render farm needs it.

* frames whose output already exists (and reads) are skipped unless ``overwrite``;
* each frame is written atomically; a frame that fails (missing, corrupt, ...) is named and
  the others still render;
* one flushed ``Progress: NN%`` line per frame for farm managers, a tqdm bar on a terminal;
* a frame with no tracked face is written as the unchanged plate, flagged in the log and
  in its header (``faceswap:status = "no face"``, see :mod:`faceswap_vfx.render.nodes`).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from faceswap_vfx.errors import FaceswapError, MissingFrameError
from faceswap_vfx.face.align_file import Alignment
from faceswap_vfx.io.image import read_header
from faceswap_vfx.io.sequence import FramePattern, ImageSequence, format_frames
from faceswap_vfx.render.frame import Generate
from faceswap_vfx.render.graph import Graph
from faceswap_vfx.render.nodes import (
    Align,
    InverseWarp,
    MultiBandBlend,
    ReadPlate,
    Swap,
    WritePlate,
)

log = logging.getLogger(__name__)


@dataclass
class RenderReport:
    """What a render did, frame by frame."""

    written: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    no_face: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        text = (f"{len(self.written)} written, {len(self.skipped)} skipped (already done), "
                f"{len(self.no_face)} without a face, {len(self.failed)} failed")
        if self.failed:
            text += f": frames {format_frames(list(self.failed))}"
        return text


def swap_graph(plates: ImageSequence, alignment: Alignment, generate: Generate,
               out_pattern: str | Path, params: dict[str, Any], *, resolution: int,
               device: torch.device | str = "cpu", matte: ImageSequence | None = None
               ) -> Graph:
    """ReadPlate -> Align -> Swap -> InverseWarp -> MultiBandBlend -> WritePlate."""
    return Graph([ReadPlate(plates), Align(alignment, params["track"], resolution),
                  Swap(generate, device),
                  InverseWarp(device), MultiBandBlend(device, matte), WritePlate(out_pattern)])


def output_done(path: Path) -> bool:
    """True when ``path`` holds a complete frame (writes are atomic, so one that exists
    under its final name and whose header reads is complete)."""
    if not path.is_file():
        return False
    try:
        read_header(path)
    except FaceswapError:
        return False
    return True


def farm_progress(done: int, total: int) -> None:
    """The line render-farm managers parse (Deadline, OpenCue, Tractor)."""
    print(f"Progress: {100 * done // max(1, total)}%", flush=True)


def render_sequence(graph: Graph, frames: list[int], out_pattern: str | Path,
                    params: dict[str, Any], *, overwrite: bool = False,
                    missing: list[int] | None = None,
                    progress: Callable[[int, int], None] | None = farm_progress
                    ) -> RenderReport:
    """Run ``graph`` on each frame; never raise for one frame's failure."""
    out = FramePattern.parse(out_pattern)
    report = RenderReport()
    for frame in missing or []:
        report.failed[frame] = str(MissingFrameError("plate frame not on disk", frame=frame))
    todo = sorted(set(frames) | set(missing or []))
    bar = _bar(len(todo))
    for i, frame in enumerate(todo, 1):
        if frame not in report.failed:
            _render_one(graph, frame, out.path(frame), params, overwrite, report)
        if progress:
            progress(i, len(todo))
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    for frame, error in report.failed.items():
        log.error("frame %d failed: %s", frame, error)
    return report


def _render_one(graph: Graph, frame: int, path: Path, params: dict[str, Any], overwrite: bool,
                report: RenderReport) -> None:
    if not overwrite and output_done(path):
        report.skipped.append(frame)
        return
    try:
        values = graph.run(params, frame=frame)
    except FaceswapError as exc:
        report.failed[frame] = str(exc)
        return
    if not values["warped"]:
        log.warning("frame %d: no tracked face; the plate is written unchanged", frame)
        report.no_face.append(frame)
    report.written.append(frame)


def _bar(total: int):
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="frame", desc="render")
