"""Gizmo knobs: one per schema parameter (:mod:`faceswap_vfx.params`), plus documented
internal ones. The generator writes them; the drift test reads them back.

A schema parameter becomes a user knob of the same name whose Nuke type follows its
kind (:data:`TYPE_OF_KIND`), with its help as tooltip, its range as ``R min max`` (a
slider range; the backend refuses values outside it) and its default as the knob's value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from faceswap_vfx.nuke.tcl import braced, quote
from faceswap_vfx.params import Param

KNOB_TYPES = {
    "String_Knob": 1, "File_Knob": 2, "Int_Knob": 3, "Enumeration_Knob": 4,
    "Boolean_Knob": 6, "Double_Knob": 7, "XY_Knob": 12, "Tab_Knob": 20,
    "PyScript_Knob": 22, "Text_Knob": 26, "Link_Knob": 41,
}
"""The Nuke knob classes the gizmos use, by the type number ``addUserKnob`` writes."""

TYPE_OF_KIND = {"float": 7, "int": 3, "bool": 6, "enum": 4, "string": 1, "file": 2}
"""Schema kind -> knob type number (Double, Int, Boolean, Enumeration, String, File)."""

DYNAMIC_MENUS = {
    "identity": "a string in the schema; in Nuke an Enumeration_Knob whose items are the "
                "identities of the model (its sidecar .json, or a run's config.json), "
                "refilled on load with the saved identity (identity_saved) selected",
}
"""Parameters shown as a menu whose items are filled in Nuke, with why."""

FLAGS = ("+STARTLINE", "-STARTLINE", "+SAVE_MENU", "+INVISIBLE", "+DISABLED")
"""The knob flags the gizmos use (Nuke's FlagMask names)."""

INTERNAL_KNOBS = {
    "align_file": "FaceSwap, FaceAlign, FaceUnalign: the alignment file (*.align.json) of "
                  "'faceswap-vfx align'; empty on FaceSwap: the render detects faces",
    "identity_saved": "FaceSwap: the identity as text, kept with the script; on load "
                      "(onCreate) the identity menu is filled from the model again and this "
                      "one selected",
    "plates": "FaceSwap: the plate sequence on disk; empty: the file of the Read that feeds "
              "input 'plate' (through Dots)",
    "out": "FaceSwap: the output pattern; empty: faceswap/<node>/<node>.####.exr beside the "
           "script",
    "frames": "FaceSwap: frames to render, e.g. 1001-1100; empty: the node's frame range",
    "overwrite": "FaceSwap: re-render frames already written",
    "render": "FaceSwap: button, renders through 'faceswap-vfx render' in the background",
    "status": "FaceSwap: what the last render did",
    "show_result": "FaceSwap: show the rendered frames (else the plate passes through)",
    "result_first": "FaceSwap: first frame of the last render (set by the render)",
    "result_last": "FaceSwap: last frame of the last render (set by the render)",
    "result_colorspace": "FaceSwap: colour space of the Read of the result (a link; Render "
                         "sets it to that of the plate's Read)",
    "use_gpu": "MultiBandBlend: run the BlinkScript kernels on the GPU when there is one",
    "bake": "FaceAlign, FaceUnalign: button, reads the alignment file again",
    "face_translate": "FaceAlign, FaceUnalign: baked Transform translate per frame, px",
    "face_rotate": "FaceAlign, FaceUnalign: baked Transform rotate per frame, degrees",
    "face_scale": "FaceAlign, FaceUnalign: baked Transform scale per frame",
    "face_present": "FaceAlign, FaceUnalign: 1 on frames with a face, 0 without (black)",
    "out_width": "FaceAlign, FaceUnalign: width of the output (crop or plate), px",
    "out_height": "FaceAlign, FaceUnalign: height of the output (crop or plate), px",
}
"""Every user knob that is not a schema parameter, with what it is for."""


@dataclass(frozen=True)
class Knob:
    """A user knob: ``addUserKnob {type name l label t tooltip ...}`` then, when ``value``
    is not None, a line ``name value`` (``value`` already TCL)."""

    type_id: int
    name: str
    label: str = ""
    tooltip: str = ""
    value: str | None = None
    text: str | None = None
    menu: tuple[str, ...] | None = None
    range: tuple[float, float] | None = None
    flags: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        """The lines that declare the knob (and set its value) in a node block."""
        words = [str(self.type_id), quote(self.name)]
        if self.label:
            words += ["l", quote(self.label)]
        if self.tooltip:
            words += ["t", quote(self.tooltip)]
        if self.menu is not None:
            words += ["M", braced(*(quote(item) for item in self.menu))]
        if self.range is not None:
            words += ["R", number(self.range[0]), number(self.range[1])]
        if self.text is not None:
            words += ["T", quote(self.text)]
        words += list(self.flags)
        lines = [f"addUserKnob {braced(*words)}"]
        if self.value is not None:
            lines.append(f"{self.name} {self.value}")
        return lines


def number(value: float) -> str:
    """A number as Nuke writes it: integers without a point, others in full (repr)."""
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


def tcl_value(p: Param, value: Any) -> str:
    """A parameter value as the TCL a knob line holds."""
    if p.kind == "bool":
        return "true" if value else "false"
    if p.kind in ("int", "float"):
        return number(value)
    return quote(str(value))


def label_of(name: str) -> str:
    """``plate_levels`` -> ``plate levels``."""
    return name.replace("_", " ")


def tooltip_of(p: Param) -> str:
    """The help, with unit and range: what the CLI's --help says."""
    extra = []
    if p.minimum is not None and p.maximum is not None:
        extra.append(f"{p.minimum:g}..{p.maximum:g}")
    if p.unit:
        extra.append(p.unit)
    extra.append(f"default {p.default!r}")
    return f"{p.help} ({', '.join(extra)}; --{p.name.replace('_', '-')})"


def param_knob(p: Param, flags: tuple[str, ...] = ()) -> Knob:
    """The knob of schema parameter ``p``."""
    if p.name in DYNAMIC_MENUS:
        return Knob(TYPE_OF_KIND["enum"], p.name, label_of(p.name), tooltip_of(p),
                    value=None if p.default == "" else quote(p.default), menu=(),
                    flags=("+SAVE_MENU", *flags))
    rng = None
    if p.kind in ("int", "float") and p.minimum is not None and p.maximum is not None:
        rng = (p.minimum, p.maximum)
    menu = p.choices if p.kind == "enum" else None
    return Knob(TYPE_OF_KIND[p.kind], p.name, label_of(p.name), tooltip_of(p),
                value=tcl_value(p, p.default), menu=menu, range=rng, flags=flags)


def internal(type_name: str, name: str, label: str = "", value: str | None = None,
             **kwargs: Any) -> Knob:
    """A documented internal knob (:data:`INTERNAL_KNOBS`), tooltip from its entry."""
    if name not in INTERNAL_KNOBS:
        raise KeyError(f"internal knob {name!r} is not documented in INTERNAL_KNOBS")
    tooltip = INTERNAL_KNOBS[name].split(": ", 1)[-1]
    return Knob(KNOB_TYPES[type_name], name, label or label_of(name), tooltip, value,
                **kwargs)


def tab(name: str, label: str = "") -> Knob:
    """A tab (layout only)."""
    return Knob(KNOB_TYPES["Tab_Knob"], name, label)


def divider(label: str = "") -> Knob:
    """An unnamed Text knob: a divider line, with a label when given (layout only)."""
    return Knob(KNOB_TYPES["Text_Knob"], "", label)
