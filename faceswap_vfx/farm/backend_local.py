"""A farm on this machine: every task of a job as its own process, a few at a time.

Layers run in dependency order; a layer's tasks run ``workers`` at a time, each in a new
process with the same command line a farm task gets (its frames filled in as
``--frames 1001-1010``). A task that exits with an error, or is killed, is started again, up
to ``retries`` times, as a farm retries a failed task; the render skips the frames a killed
attempt already wrote. Output lines are passed on prefixed with the task's layer and frames.
It needs no farm software: for a workstation with spare cores or GPUs, and for tests of the
farm path. ``--dry-run`` writes ``<job>.tasks.json``: each task's frames and command.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from faceswap_vfx.errors import FarmError
from faceswap_vfx.farm.job import FarmJob, frame_spec
from faceswap_vfx.farm.registry import Farm, register_farm


@dataclass
class TaskRun:
    """One task of a local run: its layer, frames, command, and per attempt its exit code and
    its (start, end) in :func:`time.monotonic` seconds."""

    layer: str
    frames: tuple[int, ...]
    argv: list[str]
    exit_codes: list[int] = field(default_factory=list)
    spans: list[tuple[float, float]] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.layer} {frame_spec(self.frames)}"

    @property
    def ok(self) -> bool:
        return bool(self.exit_codes) and self.exit_codes[-1] == 0


OnLine = Callable[[TaskRun, int, str, subprocess.Popen], None]
"""``on_line(task, attempt, line, process)``: called for every output line of a task."""


def run_job(job: FarmJob, workers: int = 2, retries: int = 2, *, on_line: OnLine | None = None,
            echo: bool = True) -> list[TaskRun]:
    """Run every task of ``job`` here (see the module documentation); returns the tasks in
    order. A layer whose tasks did not all succeed stops the job: the layers after it do not
    run. ``echo``: pass output lines on to stdout."""
    if workers < 1 or retries < 0:
        raise FarmError(f"workers {workers} must be >= 1 and retries {retries} >= 0")
    lock = threading.Lock()
    runs: list[TaskRun] = []

    def run_task(task: TaskRun) -> None:
        for attempt in range(retries + 1):
            start = time.monotonic()
            try:
                proc = subprocess.Popen(task.argv, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True, bufsize=1,
                                        env={**os.environ, **dict(job.env)})
            except OSError as exc:
                task.exit_codes.append(127)
                task.spans.append((start, time.monotonic()))
                with lock:
                    print(f"[{task.label}] cannot start {task.argv[0]}: "
                          f"{exc.strerror or exc}", file=sys.stderr, flush=True)
                return
            for line in proc.stdout:
                if echo:
                    with lock:
                        print(f"[{task.label}] {line.rstrip()}", flush=True)
                if on_line is not None:
                    on_line(task, attempt, line, proc)
            task.exit_codes.append(proc.wait())
            task.spans.append((start, time.monotonic()))
            if task.ok:
                return
            with lock:
                print(f"[{task.label}] attempt {attempt + 1} failed (exit {proc.returncode})"
                      + ("" if attempt == retries else ": retrying"), file=sys.stderr, flush=True)

    for layer in job.layers:
        tasks = [TaskRun(layer.name, frames, argv) for frames, argv in layer.tasks()]
        runs += tasks
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(run_task, tasks))
        if not all(t.ok for t in tasks):
            break
    return runs


@register_farm("local")
class Local(Farm):
    """Every task as a process on this machine (see the module documentation)."""

    option_help = {"workers": "tasks run at once (default 2)",
                   "retries": "times a failed task is started again (default 2)"}

    def _int(self, key: str, default: int) -> int:
        try:
            return int(self.options.get(key, default))
        except ValueError:
            raise FarmError(f"local: option {key}={self.options[key]!r} is not a whole "
                            f"number") from None

    def write(self, job: FarmJob, folder: Path) -> list[Path]:
        path = Path(folder) / f"{job.name}.tasks.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        body = {"job": job.name, "layers": [
            {"name": layer.name, "depends_on": layer.depends_on,
             "tasks": [{"frames": frame_spec(f), "argv": argv} for f, argv in layer.tasks()]}
            for layer in job.layers]}
        path.write_text(json.dumps(body, indent=2) + "\n")
        return [path]

    def submit(self, job: FarmJob) -> str:
        runs = run_job(job, self._int("workers", 2), self._int("retries", 2))
        failed = [t.label for t in runs if not t.ok]
        if failed:
            raise FarmError(f"job {job.name}: task(s) failed after retries: {', '.join(failed)}")
        retried = sum(len(t.exit_codes) - 1 for t in runs)
        return f"{job.name}: {len(runs)} task(s) done" + (f", {retried} retried" if retried
                                                          else "")
