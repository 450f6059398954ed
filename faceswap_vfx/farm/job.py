"""The farm-neutral job: layers of tasks, each task one command over a chunk of frames.

A :class:`FarmJob` has a ``render`` layer and, with an alignment pre-pass, an ``align`` layer
before it that the render layer depends on. A layer is one command line (``argv``) with
:data:`CHUNK_FRAMES` where a task's frames go, its frames and its chunk size; each back end
puts its farm's own token there (OpenCue ``#FRAMESPEC#``, Deadline
``<STARTFRAME>-<ENDFRAME>``) and the farm fills it in per task. Chunks are consecutive
frames in frame order, as both farms cut them; the last chunk may be shorter.

The render command carries every parameter of the shot that differs from its default as a
flag (:func:`faceswap_vfx.params.to_argv`), so a task does not depend on the shot file
staying unchanged after submission, and a wrangler reads the whole render in the farm's log.
Its program is an absolute path (:func:`faceswap_vfx.backend.absolute_command`): farm hosts
run tasks with their own PATH. A job carries environment variables for its tasks
(:func:`farm_environment`: ``OCIO`` and any others asked for), which each back end passes in
its own way.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from faceswap_vfx import params as schema
from faceswap_vfx.backend import render_argv
from faceswap_vfx.errors import FarmError
from faceswap_vfx.farm.shot import ShotInputs
from faceswap_vfx.params import to_argv

CHUNK_FRAMES = "{chunk_frames}"
"""Stands for a task's frames in a layer's ``argv`` (a back end replaces it)."""

RENDER, ALIGN = "render", "align"


def chunks(frames: Sequence[int], size: int) -> list[tuple[int, ...]]:
    """``frames`` (in order) cut into consecutive chunks of ``size`` (the last may be shorter)."""
    if size < 1:
        raise FarmError(f"chunk size {size} is not a whole number >= 1")
    frames = tuple(frames)
    return [frames[i:i + size] for i in range(0, len(frames), size)]


def frame_step(frames: Sequence[int]) -> int | None:
    """The step between evenly spaced, increasing ``frames`` (1 for a single frame); None when
    they are not evenly spaced."""
    steps = {b - a for a, b in zip(frames[:-1], frames[1:], strict=True)}
    if not steps:
        return 1
    step = steps.pop()
    return step if not steps and step > 0 else None


def frame_spec(frames: Iterable[int]) -> str:
    """Increasing frames as a compact range both farms and ``--frames`` read:
    ``[1, 2, 3, 5, 7, 9, 20]`` -> ``"1-3,5-9x2,20"``."""
    frames = sorted(set(frames))
    runs, i = [], 0
    while i < len(frames):
        j = i + 1
        if j < len(frames):
            step = frames[j] - frames[i]
            while j + 1 < len(frames) and frames[j + 1] - frames[j] == step:
                j += 1
            if j - i >= 2 or step == 1:  # three or more, or two adjacent frames
                runs.append(f"{frames[i]}-{frames[j]}" + (f"x{step}" if step > 1 else ""))
                i = j + 1
                continue
        runs.append(str(frames[i]))
        i += 1
    return ",".join(runs)


ENV_DEFAULT = ("OCIO",)
"""Variables every job carries from the submitter's environment (when set there)."""


def farm_environment(names: Iterable[str] = (), environ: Mapping[str, str] | None = None
                     ) -> tuple[tuple[str, str], ...]:
    """The variables a job's tasks get: :data:`ENV_DEFAULT` and ``names``, each ``NAME``
    (its value here; skipped when unset) or ``NAME=VALUE``. Raises :class:`FarmError` for a
    name that is not a valid variable name."""
    environ = os.environ if environ is None else environ
    out: dict[str, str] = {}
    for item in (*ENV_DEFAULT, *names):
        name, sep, value = item.partition("=")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise FarmError(f"--env {item!r}: {name!r} is not an environment variable name")
        if sep:
            out[name] = value
        elif name in environ:
            out[name] = environ[name]
    return tuple(out.items())


@dataclass(frozen=True)
class Layer:
    """One command run over ``frames`` in tasks of ``chunk`` frames, after ``depends_on``
    (a layer name) has finished."""

    name: str
    argv: tuple[str, ...]
    frames: tuple[int, ...]
    chunk: int
    depends_on: str | None = None

    def tasks(self) -> list[tuple[tuple[int, ...], list[str]]]:
        """Each task's frames and its command, with :data:`CHUNK_FRAMES` filled in."""
        return [(c, [a.replace(CHUNK_FRAMES, frame_spec(c)) for a in self.argv])
                for c in chunks(self.frames, self.chunk)]


@dataclass(frozen=True)
class FarmJob:
    """A named job of layers, in dependency order, made from one shot."""

    name: str
    shot: ShotInputs
    layers: tuple[Layer, ...]
    env: tuple[tuple[str, str], ...] = ()

    def layer(self, name: str) -> Layer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)


def job_name(text: str) -> str:
    """``text`` made safe for farm job names (letters, digits, ``_`` and ``.``)."""
    return re.sub(r"[^A-Za-z0-9_.]+", "_", text).strip("_") or "faceswap"


def build_job(inputs: ShotInputs, frames: Sequence[int] | None = None, chunk: int = 10, *,
              align_prepass: bool = False, executable: Sequence[str] = ("faceswap-vfx",),
              name: str | None = None, env: Sequence[tuple[str, str]] = ()) -> FarmJob:
    """The job that renders ``frames`` (default: the shot's ``inputs.frames``) of a shot in
    tasks of ``chunk`` frames, after an alignment pre-pass over all of them when
    ``align_prepass``. ``executable``: the command that runs ``faceswap-vfx`` on the farm
    (:func:`faceswap_vfx.backend.absolute_command` makes it absolute); ``env``: the tasks'
    environment variables (:func:`farm_environment`)."""
    frames = tuple(sorted(set(frames or inputs.frames)))
    if not frames:
        raise FarmError("no frames to render: give --frames or the shot's inputs.frames",
                        path=inputs.path)
    chunks(frames, chunk)  # checks the size
    exe = tuple(executable)
    if not exe:
        raise FarmError("the farm executable is empty")
    values = dict(inputs.shot.params, model=inputs.model, identity=inputs.identity)
    for p in schema.PARAMS.values():  # file parameters as absolute paths (see farm.shot)
        if p.kind == "file" and values.get(p.name):
            values[p.name] = str(Path(values[p.name]).expanduser().resolve())
    argv = render_argv(values, plates=inputs.plates, out=inputs.out, frames="",
                       align=inputs.align, changed_only=True, command=exe)
    render = Layer(RENDER, (*argv, "--frames", CHUNK_FRAMES), frames, chunk,
                   ALIGN if align_prepass else None)
    layers = (render,)
    if align_prepass:
        align = Layer(ALIGN, (*exe, "align", inputs.plates, f"--out={inputs.align}",
                              *to_argv(values, changed_only=True, groups=("colour", "faces")),
                              "--frames", CHUNK_FRAMES),
                      frames, len(frames))  # one task: tracking and smoothing see every frame
        layers = (align, render)
    return FarmJob(job_name(name or f"{inputs.name}_faceswap"), inputs, layers, tuple(env))
