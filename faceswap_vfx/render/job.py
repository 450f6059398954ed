"""Render a chunk of a plate sequence, the way a render farm needs it.

* frames whose output already exists (and reads) are skipped unless ``overwrite``;
* each frame is written atomically; a frame that fails (missing, corrupt, ...) is named and
  the others still render;
* one flushed ``Progress: NN%`` line per frame for farm managers, a tqdm bar on a terminal;
* a frame with no tracked face is written as the unchanged plate, flagged in the log and
  in its header (``faceswap:status = "no face"``, see :mod:`faceswap_vfx.render.nodes`).

The stages of successive frames overlap (EXR decoding and encoding cost more than the
network): a reader thread runs the graph's ``read`` nodes up to ``prefetch`` frames ahead,
the calling thread runs the ``compute`` nodes frame after frame, in order, and a pool of
``writers`` threads runs the ``write`` nodes. Each frame is its own file, so the order in
which frames reach the disk does not matter; at most ``prefetch + 1 + writers`` frames are
in memory.
"""

from __future__ import annotations

import logging
import os
import sys
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import torch

from faceswap_vfx.errors import FaceswapError, MissingFrameError
from faceswap_vfx.face.align_file import Alignment
from faceswap_vfx.io.atomic import remove_stale_temporaries
from faceswap_vfx.io.exr_chunks import chunks_complete
from faceswap_vfx.io.image import read_header
from faceswap_vfx.io.sequence import FramePattern, ImageSequence, format_frames
from faceswap_vfx.render.frame import Generate
from faceswap_vfx.render.graph import Graph
from faceswap_vfx.render.nodes import (
    Align,
    InverseWarp,
    MultiBandBlend,
    ReadMatte,
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
    """ReadPlate -> ReadMatte -> Align -> Swap -> InverseWarp -> MultiBandBlend ->
    WritePlate."""
    return Graph([ReadPlate(plates), ReadMatte(matte),
                  Align(alignment, params["track"], resolution, plates), Swap(generate, device),
                  InverseWarp(device), MultiBandBlend(device), WritePlate(out_pattern)])


def output_done(path: Path) -> bool:
    """True when ``path`` holds a complete frame: its header reads and, for an EXR, every
    chunk its offset tables list is whole (a file cut short by a full disk or a copy keeps a
    readable header)."""
    if not path.is_file():
        return False
    try:
        read_header(path)
        return path.suffix.lower() != ".exr" or chunks_complete(path) is not False
    except (FaceswapError, OSError):
        return False


def plate_path(graph: Graph) -> Callable[[int], Path | None]:
    """``frame -> path`` of the plate the graph reads (its first :class:`ReadPlate`), so a
    failure is named by file and frame; None for every frame without one."""
    for node in graph.nodes:
        if isinstance(node, ReadPlate):
            return node.sequence.path
    return lambda frame: None


def farm_progress(done: int, total: int) -> None:
    """The line render-farm managers parse (Deadline, OpenCue, Tractor)."""
    print(f"Progress: {100 * done // max(1, total)}%", flush=True)


def render_sequence(graph: Graph, frames: list[int], out_pattern: str | Path,
                    params: dict[str, Any], *, overwrite: bool = False,
                    missing: list[int] | None = None,
                    progress: Callable[[int, int], None] | None = farm_progress,
                    prefetch: int = 1, writers: int = 2,
                    compute_threads: int | None = None) -> RenderReport:
    """Run ``graph`` on each frame; never raise for one frame's failure.

    ``prefetch``: frames read ahead of the one computed; ``writers``: threads writing
    (0 and 0: one stage after the other, on this thread). ``compute_threads``: torch's
    CPU threads during the render (restored after); by default, with stages overlapped,
    at most half the cores, the EXR codecs having the rest (two pools each sized to every
    core spin against each other). ``progress(done, total)`` is called once per frame,
    from this thread, ``done`` counting up.
    """
    out = FramePattern.parse(out_pattern)
    report = RenderReport()
    source = plate_path(graph)
    for frame in missing or []:
        report.failed[frame] = MissingFrameError("plate frame not on disk").located(
            source(frame), frame)
    todo = sorted(set(frames) | set(missing or []))
    work = []
    for frame in todo:
        if frame in report.failed:
            continue
        remove_stale_temporaries(out.path(frame))
        if not overwrite and output_done(out.path(frame)):
            report.skipped.append(frame)
        else:
            work.append(frame)
    ticker = _Ticker(len(todo), progress)
    ticker.tick(len(todo) - len(work))
    stages = _Stages(graph, params, report, ticker, max(0, prefetch), max(0, writers), source)
    threads = torch.get_num_threads()
    if compute_threads is None and (prefetch > 0 or writers > 0):
        compute_threads = min(threads, max(1, (os.cpu_count() or 2) // 2))
    try:
        torch.set_num_threads(compute_threads or threads)
        stages.run(work)
    finally:
        torch.set_num_threads(threads)
        stages.close()
        ticker.close()
    report.written.sort()
    report.no_face.sort()
    report.failed = dict(sorted(report.failed.items()))
    for frame, error in report.failed.items():
        log.error("frame %d failed: %s", frame, error)
    return report


class _Stages:
    """The read, compute and write stages of a render, overlapped across frames."""

    def __init__(self, graph: Graph, params: dict[str, Any], report: RenderReport,
                 ticker: _Ticker, prefetch: int, writers: int,
                 source: Callable[[int], Path | None]):
        self.graph, self.params, self.report, self.ticker = graph, params, report, ticker
        self.source = source
        self.prefetch, self.writers = prefetch, writers
        self.reader = ThreadPoolExecutor(1, "fsw-read") if prefetch else None
        self.writer = ThreadPoolExecutor(writers, "fsw-write") if writers else None
        self.reads: deque[tuple[int, Future]] = deque()
        self.writes: dict[Future, int] = {}

    def run(self, work: list[int]) -> None:
        upcoming = deque(work)
        while upcoming or self.reads:
            if self.reads:
                frame, future = self.reads.popleft()
            else:
                frame, future = upcoming.popleft(), None
            while self.reader and upcoming and len(self.reads) < self.prefetch:
                ahead = upcoming.popleft()
                self.reads.append((ahead, self.reader.submit(self._stage, "read", ahead)))
            try:
                values = future.result() if future else self._stage("read", frame)
                values = self._stage("compute", frame, values)
            except FaceswapError as exc:
                self.report.failed[frame] = exc.located(self.source(frame), frame)
                self.ticker.tick()
                continue
            if "warped" in values and not values["warped"]:
                log.warning("frame %d: no tracked face; the plate is written unchanged", frame)
                self.report.no_face.append(frame)
            if self.writer:
                self.writes[self.writer.submit(self._stage, "write", frame, values)] = frame
                del values
                self._settle(limit=self.writers)
            else:
                self._record(frame, partial(self._stage, "write", frame, values))
        self._settle(limit=0)

    def _stage(self, stage: str, frame: int, values: dict[str, Any] | None = None
               ) -> dict[str, Any]:
        return self.graph.run(self.params, stage=stage, values=values, frame=frame)

    def _settle(self, limit: int) -> None:
        """Record finished writes; wait until at most ``limit`` are pending."""
        while self.writes:
            done, _ = wait(self.writes, timeout=None if len(self.writes) > limit else 0,
                           return_when=FIRST_COMPLETED)
            if not done:
                return
            for future in done:
                self._record(self.writes.pop(future), future.result)

    def _record(self, frame: int, result: Callable[[], Any]) -> None:
        try:
            result()
        except FaceswapError as exc:
            self.report.failed[frame] = exc.located(self.source(frame), frame)
            if frame in self.report.no_face:
                self.report.no_face.remove(frame)
        else:
            self.report.written.append(frame)
        self.ticker.tick()

    def close(self) -> None:
        """Wait for the writes under way (each is atomic), drop the reads not started."""
        for pool in (self.reader, self.writer):
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)


class _Ticker:
    """Progress lines and the tqdm bar, counting frames done."""

    def __init__(self, total: int, progress: Callable[[int, int], None] | None):
        self.total, self.done, self.progress = total, 0, progress
        self.bar = _bar(total)

    def tick(self, n: int = 1) -> None:
        for _ in range(n):
            self.done += 1
            if self.progress:
                self.progress(self.done, self.total)
            if self.bar is not None:
                self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _bar(total: int):
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="frame", desc="render")
