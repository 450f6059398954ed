"""What the gizmos' buttons and ``knobChanged`` run inside Nuke: thin glue.

The only module of faceswap_vfx that imports ``nuke`` (inside the functions that need
it). Everything else is plain Python: the helpers here take Nuke nodes (anything with
``knob``, ``input``, ``Class``, ``name``) and are tested with stand-ins. Heavy work runs
in the backend's own environment through ``faceswap-vfx`` (found by
:func:`~faceswap_vfx.nuke.render_job.backend_command`), so Nuke's Python needs no numpy,
torch or dlib.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from typing import Any

from faceswap_vfx import params as schema
from faceswap_vfx.errors import FaceswapError, ParameterError
from faceswap_vfx.io.sequence import parse_frames
from faceswap_vfx.nuke.model_info import model_identities
from faceswap_vfx.nuke.render_job import (
    RenderJob,
    backend_command,
    default_output,
    render_command,
)

BAKE_DIRECTION = {"FaceAlign": "align", "FaceUnalign": "unalign"}
"""Gizmo class -> the direction ``faceswap-vfx gizmos bake`` bakes for it."""

_JOBS: dict[str, RenderJob] = {}


def _nuke() -> Any:
    import nuke  # only inside Nuke

    return nuke


# --- entry points named in the gizmos ---------------------------------------------------
def knob_changed() -> None:
    """The gizmos' knobChanged: a new model refills the identity menu; a new alignment
    file or track re-bakes FaceAlign / FaceUnalign."""
    nuke = _nuke()
    node, knob = nuke.thisNode(), nuke.thisKnob()
    try:
        if knob.name() == "model" and node.knob("identity") is not None \
                and node["model"].value():
            refresh_identities(node)
        elif knob.name() in ("align_file", "track") and node.Class() in BAKE_DIRECTION:
            if node["align_file"].value():
                bake_node(node)
    except FaceswapError as exc:
        nuke.message(f"{node.name()}: {exc}")


def render() -> None:
    """FaceSwap's Render button."""
    nuke = _nuke()
    node = nuke.thisNode()
    try:
        start_render(node, nuke)
    except FaceswapError as exc:
        nuke.message(f"{node.name()}: {exc}")


def bake() -> None:
    """FaceAlign / FaceUnalign's Bake button: read the alignment file again."""
    nuke = _nuke()
    node = nuke.thisNode()
    try:
        bake_node(node)
    except FaceswapError as exc:
        nuke.message(f"{node.name()}: {exc}")


# --- plain helpers ----------------------------------------------------------------------
def refresh_identities(node: Any) -> list[str]:
    """Fill the ``identity`` menu from the ``model`` knob's model; keep the current
    identity when the model still has it. Returns the names."""
    names = model_identities(node["model"].value())
    knob = node["identity"]
    current = knob.value()
    knob.setValues(names)
    knob.setValue(current if current in names else names[0])
    return names


def knob_values(node: Any) -> dict[str, Any]:
    """The node's schema parameters, typed by their kind."""
    values = {}
    for name, p in schema.PARAMS.items():
        knob = node.knob(name)
        if knob is None:
            continue
        value = knob.value()
        if p.kind == "int":
            value = int(value)
        elif p.kind == "float":
            value = float(value)
        elif p.kind == "bool":
            value = bool(value)
        else:
            value = "" if value is None else str(value)
        values[name] = value
    return values


def upstream_read(node: Any, index: int) -> Any:
    """The Read feeding input ``index`` of ``node`` through any Dots; ParameterError when
    there is none (the backend reads files, not Nuke's pixels)."""
    source = node.input(index)
    while source is not None and source.Class() == "Dot":
        source = source.input(0)
    if source is None or source.Class() != "Read":
        raise ParameterError(f"input {index} of {node.name()} is not a Read (through Dots): "
                             "the backend reads files, so connect a Read or set the file knob")
    return source


def render_request(node: Any, nuke: Any) -> tuple[list[str], list[int]]:
    """The command line and frames of a FaceSwap node's render. Fills ``out`` when empty;
    the Read inside takes the colour space of the plate's Read."""
    values = knob_values(node)
    plates = node["plates"].value()
    if not plates:
        read = upstream_read(node, 0)
        plates = str(nuke.filename(read))
        result = node.node("result")
        if read.knob("colorspace") is not None and result is not None:
            result["colorspace"].setValue(read["colorspace"].value())
    if not values.get("matte") and node.input(1) is not None:
        values["matte"] = str(nuke.filename(upstream_read(node, 1)))
    out = node["out"].value()
    if not out:
        out = default_output(nuke.root().name(), node.name())
        node["out"].setValue(out)
    frames = node["frames"].value() or f"{int(node.firstFrame())}-{int(node.lastFrame())}"
    argv = render_command(values, plates=plates, out=out, frames=frames,
                          align=node["align_file"].value(),
                          overwrite=bool(node["overwrite"].value()),
                          executable=backend_command())
    return argv, parse_frames(frames)


def start_render(node: Any, nuke: Any) -> RenderJob:
    """Start the node's render in the background with a Nuke progress task; when it
    ends, the status, the frame range of the result and the Read inside are updated."""
    name = node.fullName() if hasattr(node, "fullName") else node.name()
    if name in _JOBS:
        raise ParameterError("a render of this node is still running")
    argv, frames = render_request(node, nuke)
    task = nuke.ProgressTask(f"FaceSwap {node.name()}")
    task.setMessage(f"frames {frames[0]}-{frames[-1]}")
    node["status"].setValue(f"rendering frames {frames[0]}-{frames[-1]}")

    def done(code: int, tail: str) -> None:
        _JOBS.pop(name, None)
        nuke.executeInMainThread(finish_render, args=(node, code, tail, frames[0], frames[-1]))

    job = RenderJob(argv, on_progress=task.setProgress, on_done=done)
    _JOBS[name] = job.start()
    threading.Thread(target=_watch_cancel, args=(job, task), daemon=True).start()
    return job


def _watch_cancel(job: RenderJob, task: Any) -> None:
    while not job.wait(0.5):
        if task.isCancelled():
            job.cancel()


def finish_render(node: Any, code: int, tail: str, first: int, last: int) -> None:
    """After a render: show what it wrote and reload the Read of the result."""
    summary = tail.strip().splitlines()[-1] if tail.strip() else ""
    node["status"].setValue(("done: " if code == 0 else f"failed (exit {code}): ") + summary)
    node["result_first"].setValue(first)
    node["result_last"].setValue(last)
    node["show_result"].setValue(code == 0 or bool(node["show_result"].value()))
    reader = node.node("result")
    if reader is not None:
        reader["reload"].execute()


def bake_node(node: Any, timeout: float = 300.0) -> dict[str, str]:
    """Bake the node's alignment file into its knobs through ``faceswap-vfx gizmos bake``
    (the backend reads the file); returns the knob scripts it applied."""
    direction = BAKE_DIRECTION.get(node.Class())
    if direction is None:
        raise ParameterError(f"{node.Class()} is not one of {', '.join(BAKE_DIRECTION)}")
    argv = [*backend_command(), "gizmos", "bake", node["align_file"].value(),
            f"--track={node['track'].value()}", f"--direction={direction}"]
    start = time.monotonic()
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines() or ["no output"]
        raise ParameterError(f"bake failed after {time.monotonic() - start:.1f} s: {lines[-1]}")
    scripts = json.loads(result.stdout)
    for knob, script in scripts.items():
        node[knob].fromScript(script)
    return scripts
