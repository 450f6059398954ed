"""Write ``.gizmo`` files: a ``Gizmo { ... }`` block of user knobs, then its nodes wired
through Nuke's node stack, then ``end_group``."""

from __future__ import annotations

from dataclasses import dataclass, field

from faceswap_vfx.nuke.knobs import Knob
from faceswap_vfx.nuke.tcl import quote

NUKE_NODE_CLASSES = {
    "Input": "a gizmo input (knob 'number' is its index)",
    "Output": "the gizmo's output",
    "Read": "FaceSwap: reads the rendered frames back",
    "Switch": "FaceSwap: the plate, or the rendered frames once there are some",
    "AddChannels": "MultiBandBlend: rgba on every input (an RGB-only or alpha-only input "
                   "gets the missing channels as 0)",
    "Crop": "MultiBandBlend: bounding box to the format before the kernels",
    "BlinkScript": "MultiBandBlend: one pass of the blend (kernels from shaders/)",
    "Transform": "FaceAlign, FaceUnalign: the baked similarity per frame",
    "Reformat": "FaceAlign, FaceUnalign: the output format (crop or plate size)",
    "Multiply": "FaceAlign, FaceUnalign: black on frames without a face",
}
"""The Nuke node classes inside the gizmos (all shipped with Nuke), with what for."""


@dataclass
class NodeSpec:
    """A node inside a gizmo: class, name, knob lines ``(knob, TCL value)`` and the names of
    the nodes feeding inputs 0, 1, ... (``None`` for an empty input)."""

    cls: str
    name: str
    knobs: list[tuple[str, str]] = field(default_factory=list)
    inputs: list[str | None] = field(default_factory=list)
    pos: tuple[int, int] = (0, 0)


def _var(name: str) -> str:
    return "N_" + name


def write_gizmo(header: list[tuple[str, str]], knobs: list[Knob], nodes: list[NodeSpec]
                ) -> str:
    """The text of a ``.gizmo`` file. ``header``: knob lines of the Gizmo itself (inputs,
    help, knobChanged, ...); ``knobs``: its user knobs; ``nodes``: inside, each after the
    nodes it reads."""
    lines = ["Gizmo {"]
    lines += [f" {k} {v}" for k, v in header]
    for knob in knobs:
        lines += [" " + line for line in knob.lines()]
    lines.append("}")
    written: set[str] = set()
    previous: str | None = None
    for node in nodes:
        for src in node.inputs:
            if src is not None and src not in written:
                raise ValueError(f"{node.name} reads {src}, which is not written before it")
        if node.inputs != [previous] or previous is None:
            # push inputs so that input 0 ends on top of the stack
            lines += [" push " + ("0" if src is None else "$" + _var(src))
                      for src in reversed(node.inputs)]
        lines.append(f" {node.cls} {{")
        lines.append(f"  inputs {len(node.inputs)}")
        lines += [f"  {k} {v}" for k, v in node.knobs]
        lines += [f"  name {quote(node.name)}", f"  xpos {node.pos[0]}", f"  ypos {node.pos[1]}",
                  " }"]
        lines.append(f" set {_var(node.name)} [stack 0]")
        written.add(node.name)
        previous = node.name
    lines.append("end_group")
    return "\n".join(lines) + "\n"
