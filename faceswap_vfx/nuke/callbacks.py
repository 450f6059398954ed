"""What the gizmos' buttons and ``knobChanged`` run inside Nuke: thin glue.

The only module of faceswap_vfx that imports ``nuke`` (inside the functions that need
it). Everything else is plain Python: the helpers here take Nuke nodes (anything with
``knob``, ``input``, ``Class``, ``name``) and are tested with stand-ins. Heavy work runs
in the backend's own environment through ``faceswap-vfx`` (found, started with a clean
environment and read by :mod:`faceswap_vfx.backend`), so Nuke's Python needs no numpy,
torch or dlib. Render and Bake both run in the background; what they change on the node
happens on Nuke's main thread (``nuke.executeInMainThread``).
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from faceswap_vfx import params as schema
from faceswap_vfx.backend import BackendProcess, Event, backend_command, outcome, render_argv
from faceswap_vfx.errors import FaceswapError, ModelFileError, ParameterError
from faceswap_vfx.io.sequence import parse_frames
from faceswap_vfx.nuke.model_info import model_identities

BAKE_DIRECTION = {"FaceAlign": "align", "FaceUnalign": "unalign"}
"""Gizmo class -> the direction ``faceswap-vfx gizmos bake`` bakes for it."""

_JOBS: dict[str, BackendProcess] = {}


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
        elif knob.name() == "identity" and node.knob("identity_saved") is not None:
            node["identity_saved"].setValue(node["identity"].value())
        elif knob.name() in ("align_file", "track") and node.Class() in BAKE_DIRECTION:
            if node["align_file"].value():
                start_bake(node, nuke)
    except FaceswapError as exc:
        nuke.message(f"{node.name()}: {exc}")


def on_create() -> None:
    """FaceSwap's onCreate (a new node, or a script loading): refill the identity menu
    from the model and select the identity the script saved."""
    restore_identity(_nuke().thisNode())


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
        start_bake(node, nuke)
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
    if node.knob("identity_saved") is not None:
        node["identity_saved"].setValue(knob.value())
    return names


def restore_identity(node: Any) -> str:
    """The identity menu after a script loads: Nuke rebuilds the knob from the gizmo (no
    items), so the menu is filled from the model again and the identity saved as text
    (``identity_saved``) is selected; a model that cannot be read leaves a menu of that one
    name, so the render names it and fails clearly. Returns the identity."""
    saved = str(node["identity_saved"].value() or "") if node.knob("identity_saved") else ""
    try:
        names = model_identities(node["model"].value()) if node["model"].value() else []
    except ModelFileError:
        names = []
    if saved and saved not in names:
        names.append(saved)
    knob = node["identity"]
    if names:
        knob.setValues(names)
        knob.setValue(saved or names[0])
    return str(knob.value() or "")


def default_output(script: str, node: str) -> str:
    """``faceswap/<node>/<node>.####.exr`` beside the Nuke script; ParameterError for a
    script never saved (Nuke calls the root of an unsaved script "Root")."""
    if not script or script == "Root":
        raise ParameterError("save the Nuke script first, or set the output ('out')")
    return str(Path(script).resolve().parent / "faceswap" / node / f"{node}.####.exr")


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
    argv = render_argv(values, plates=plates, out=out, frames=frames,
                       align=node["align_file"].value(),
                       overwrite=bool(node["overwrite"].value()),
                       command=backend_command(this_python=False))
    return argv, parse_frames(frames)


def start_render(node: Any, nuke: Any) -> BackendProcess:
    """Start the node's render in the background with a Nuke progress task; when it
    ends, the status, the frame range of the result and the Read inside are updated."""
    name = node.fullName() if hasattr(node, "fullName") else node.name()
    if name in _JOBS:
        raise ParameterError("a render of this node is still running")
    argv, frames = render_request(node, nuke)
    task = nuke.ProgressTask(f"FaceSwap {node.name()}")
    task.setMessage(f"frames {frames[0]}-{frames[-1]}")
    node["status"].setValue(f"rendering frames {frames[0]}-{frames[-1]}")

    def on_event(event: Event) -> None:
        if event.kind == "progress":
            task.setProgress(event.percent)

    def done(code: int, events: list[Event]) -> None:
        _JOBS.pop(name, None)
        ok, message = outcome(code, events, cancelled=job.cancelled)
        nuke.executeInMainThread(finish_render, args=(node, ok, message, frames[0], frames[-1]))

    job = BackendProcess(argv, on_event, done)
    _JOBS[name] = job.start()
    threading.Thread(target=_watch_cancel, args=(job, task), daemon=True).start()
    return job


def _watch_cancel(job: BackendProcess, task: Any) -> None:
    while not job.wait(0.5):
        if task.isCancelled():
            job.cancel()


def finish_render(node: Any, ok: bool, message: str, first: int, last: int) -> None:
    """After a render: show what it did and reload the Read of the result."""
    node["status"].setValue(("done: " if ok else "failed: ") + message)
    node["result_first"].setValue(first)
    node["result_last"].setValue(last)
    node["show_result"].setValue(ok or bool(node["show_result"].value()))
    reader = node.node("result")
    if reader is not None:
        reader["reload"].execute()


def start_bake(node: Any, nuke: Any) -> BackendProcess:
    """Bake the node's alignment file into its knobs: ``faceswap-vfx gizmos bake`` in the
    background (the backend reads the file), its knob scripts applied on Nuke's main thread
    when it ends (a failure goes to ``nuke.message``)."""
    direction = BAKE_DIRECTION.get(node.Class())
    if direction is None:
        raise ParameterError(f"{node.Class()} is not one of {', '.join(BAKE_DIRECTION)}")
    name = f"bake:{node.fullName() if hasattr(node, 'fullName') else node.name()}"
    if name in _JOBS:
        raise ParameterError("this node is still baking")
    handle, result = tempfile.mkstemp(prefix="faceswap_bake_", suffix=".json")
    os.close(handle)
    argv = [*backend_command(this_python=False), "gizmos", "bake", node["align_file"].value(),
            f"--track={node['track'].value()}", f"--direction={direction}", f"--out={result}"]

    def done(code: int, events: list[Event]) -> None:
        _JOBS.pop(name, None)
        ok, message = outcome(code, events)
        scripts = None
        try:
            scripts = json.loads(Path(result).read_text()) if ok else None
        except (OSError, ValueError) as exc:
            message = f"the backend's answer cannot be read: {exc}"
        finally:
            Path(result).unlink(missing_ok=True)
        if scripts is None:
            nuke.executeInMainThread(nuke.message, args=(f"{node.name()}: bake failed: "
                                                         f"{message}",))
        else:
            nuke.executeInMainThread(apply_bake, args=(node, scripts))

    job = BackendProcess(argv, on_done=done)
    _JOBS[name] = job.start()
    return job


def apply_bake(node: Any, scripts: dict[str, str]) -> None:
    """The knob scripts of a bake, applied to the node (main thread)."""
    for knob, script in scripts.items():
        node[knob].fromScript(script)
