"""The gizmos, generated: knobs from the parameter schema, nodes inside, Python callbacks.

``faceswap-vfx gizmos write`` writes :func:`generate` into ``nuke_gizmos/gizmos/``; the
files are committed, and a test fails when they differ from what :func:`generate` makes
now (so a schema change means regenerating them). Register a gizmo with
:func:`gizmo`; its builder returns the file's text.
"""

from __future__ import annotations

from collections.abc import Callable

from faceswap_vfx import params as schema
from faceswap_vfx.nuke.blend_passes import INPUTS, blend_passes, output
from faceswap_vfx.nuke.blink import kernel_description
from faceswap_vfx.nuke.knobs import (
    Knob,
    divider,
    internal,
    number,
    param_knob,
    tab,
)
from faceswap_vfx.nuke.script import NodeSpec, write_gizmo
from faceswap_vfx.nuke.shaders import kernel_source
from faceswap_vfx.nuke.tcl import quote

GIZMOS: dict[str, Callable[[], str]] = {}
"""Gizmo name -> builder of its ``.gizmo`` text, in menu order."""


def python(call: str) -> str:
    """The Python a button or callback runs: one function of
    :mod:`faceswap_vfx.nuke.callbacks`."""
    return f"from faceswap_vfx.nuke import callbacks\ncallbacks.{call}()"


def gizmo(name: str) -> Callable[[Callable[[], str]], Callable[[], str]]:
    """Register a builder under ``name`` (the file is ``<name>.gizmo``)."""
    def register(builder: Callable[[], str]) -> Callable[[], str]:
        GIZMOS[name] = builder
        return builder
    return register


def generate() -> dict[str, str]:
    """File name -> text of every gizmo."""
    return {f"{name}.gizmo": build() for name, build in GIZMOS.items()}


def _header(inputs: int, help_text: str, callbacks: bool, on_create: bool = False
            ) -> list[tuple[str, str]]:
    header = [("inputs", str(inputs)), ("help", quote(help_text))]
    if callbacks:
        header.append(("knobChanged", quote(python("knob_changed"))))
    if on_create:
        header.append(("onCreate", quote(python("on_create"))))
    return header


def _group_knobs(group: str, skip: tuple[str, ...] = ()) -> list[Knob]:
    return [param_knob(p) for p in schema.PARAMS.values() if p.group == group
            and p.name not in skip]


def _input(name: str, number_: int, x: int) -> NodeSpec:
    return NodeSpec("Input", name, [("number", str(number_))], [], (x, -300))


# --- FaceSwap ---------------------------------------------------------------------------
@gizmo("FaceSwap")
def face_swap() -> str:
    """Render the plate's face swap through the backend and read the result back."""
    main = ("model", "identity", "device", "track")
    knobs = [tab("faceswap", "FaceSwap"),
             *(param_knob(schema.PARAMS[n]) for n in main[:3]),
             internal("String_Knob", "identity_saved", flags=("+INVISIBLE",)),
             divider("Faces"),
             internal("File_Knob", "align_file", "alignment file"),
             param_knob(schema.PARAMS["track"]),
             divider("Render"),
             internal("File_Knob", "plates"),
             internal("File_Knob", "out", "output"),
             internal("String_Knob", "frames"),
             internal("Boolean_Knob", "overwrite", value="false", flags=("+STARTLINE",)),
             internal("PyScript_Knob", "render", "Render", text=python("render"),
                      flags=("+STARTLINE",)),
             internal("Text_Knob", "status", text="not rendered"),
             internal("Boolean_Knob", "show_result", "show result", value="false",
                      flags=("+STARTLINE",)),
             internal("Int_Knob", "result_first", value="1", flags=("+INVISIBLE",)),
             internal("Int_Knob", "result_last", value="1", flags=("+INVISIBLE",)),
             internal("Link_Knob", "result_colorspace", "result colour space",
                      text="result.colorspace")]
    for group, label in (("expression", "Expression"), ("blend", "Blend"), ("faces", "Faces"),
                         ("colour", "Colour")):
        knobs += [tab(group, label), *_group_knobs(group, skip=main)]
    shown = "parent.show_result && frame >= parent.result_first && frame <= parent.result_last"
    nodes = [
        _input("plate", 0, 0),
        _input("matte", 1, 200),
        NodeSpec("Read", "result", [
            ("file", quote("[value parent.out]")),
            ("first", "{{parent.result_first}}"), ("last", "{{parent.result_last}}"),
            ("origfirst", "{{parent.result_first}}"), ("origlast", "{{parent.result_last}}"),
        ], [], (400, -300)),
        NodeSpec("Switch", "show", [("which", "{{" + quote(shown) + "}}")],
                 ["plate", "result"], (0, -100)),
        NodeSpec("Output", "Output1", [], ["show"], (0, 0)),
    ]
    help_text = ("Swaps the face of the plate for a trained identity: Render runs "
                 "'faceswap-vfx render' on the node's frame range in the background; the "
                 "frames it writes are read back here. Knobs are the parameters of "
                 "faceswap_vfx/params.py; input 'matte' (optional) must come from a Read.")
    return write_gizmo(_header(2, help_text, True, on_create=True), knobs, nodes)


# --- MultiBandBlend ---------------------------------------------------------------------
def kernel_name(stem: str) -> str:
    """``mbb_band`` -> ``MbbBand``: the kernel name in ``shaders/<stem>.blink``."""
    return "".join(part.capitalize() for part in stem.split("_"))


@gizmo("MultiBandBlend")
def multi_band_blend() -> str:
    """The multi-band blend of core.blend in BlinkScript (one node per pass)."""
    knobs = [tab("multibandblend", "MultiBandBlend"),
             param_knob(schema.PARAMS["plate_levels"]),
             param_knob(schema.PARAMS["mask_sigma"]),
             internal("Boolean_Knob", "use_gpu", "use GPU", value="true",
                      flags=("+STARTLINE",))]
    nodes = [_input(name, i, 200 * i) for i, name in enumerate(INPUTS)]
    # rgba on every input (missing channels added as 0): the kernels read float4 pixels, so
    # an RGB-only plate or face and an alpha-only mask work as they are
    nodes += [NodeSpec("AddChannels", f"rgba_{name}", [("channels", "rgba")], [name],
                       (200 * i, -275)) for i, name in enumerate(INPUTS)]
    nodes += [NodeSpec("Crop", f"crop_{name}", [("box", "{0 0 {width} {height}}")],
                       [f"rgba_{name}"], (200 * i, -250)) for i, name in enumerate(INPUTS)]
    sources, descriptions = {}, {}
    columns = {"mbb_down": 0, "mbb_mask": 400, "mbb_blur": 600, "mbb_band": 1000,
               "mbb_collapse": 1200}
    for p in blend_passes():
        k = kernel_name(p.kernel)
        if p.kernel not in sources:
            sources[p.kernel] = kernel_source(p.kernel, "blink")
            descriptions[p.kernel] = kernel_description(sources[p.kernel])
        values = [("KernelDescription", quote(descriptions[p.kernel])),
                  ("kernelSource", quote(sources[p.kernel])),
                  ("useGPUIfAvailable", "{{parent.use_gpu}}"), ("rebuild", '""'),
                  (f"{k}_level", str(p.level)), (f"{k}_fullSize", "{{width} {height}}")]
        if p.kernel == "mbb_blur":
            values += [(f"{k}_mask_sigma", "{{parent.mask_sigma}}"), (f"{k}_axis", str(p.axis))]
        if p.kernel == "mbb_band":
            values.append((f"{k}_plate_levels", "{{parent.plate_levels}}"))
        values.append(("rebuild_finalise", '""'))
        x = columns[p.kernel] + (200 if p.name.startswith(("down_plate", "blur_y")) else 0)
        inputs = [f"crop_{n}" if n in INPUTS else n for n in p.inputs]
        nodes.append(NodeSpec("BlinkScript", p.name, values, inputs, (x, 100 * p.level)))
    nodes.append(NodeSpec("Output", "Output1", [], [output(blend_passes())],
                          (1200, -100)))
    help_text = ("The multi-band blend of faceswap_vfx (Naruniec et al. 2020, Algorithm 1) in "
                 "BlinkScript: input 'face' blended into input 'plate' under the alpha of "
                 "input 'mask'; the plate's coarsest 'plate levels' pyramid levels are kept "
                 "inside the face. rgba of the format; needs no Python backend.")
    return write_gizmo(_header(3, help_text, False), knobs, nodes)


# --- FaceAlign / FaceUnalign ------------------------------------------------------------
def _align_gizmo(source: str, size: tuple[int, int], help_text: str) -> str:
    knobs = [tab("face", "Face"),
             internal("File_Knob", "align_file", "alignment file"),
             param_knob(schema.PARAMS["track"]),
             internal("PyScript_Knob", "bake", "Bake", text=python("bake"),
                      flags=("+STARTLINE",)),
             divider("Baked from the alignment file"),
             internal("XY_Knob", "face_translate", "translate", value="{0 0}"),
             internal("Double_Knob", "face_rotate", "rotate", value="0"),
             internal("Double_Knob", "face_scale", "scale", value="1"),
             internal("Double_Knob", "face_present", "face present", value="0"),
             internal("Int_Knob", "out_width", "output width", value=number(size[0])),
             internal("Int_Knob", "out_height", "output height", value=number(size[1]),
                      flags=("-STARTLINE",))]
    nodes = [
        _input(source, 0, 0),
        NodeSpec("Transform", "transform", [
            ("translate", "{{parent.face_translate.x} {parent.face_translate.y}}"),
            ("rotate", "{{parent.face_rotate}}"), ("scale", "{{parent.face_scale}}"),
            ("center", "{0 0}"), ("filter", "Keys"), ("black_outside", "true")],
            [source], (0, -200)),
        NodeSpec("Reformat", "format", [
            ("type", quote("to box")), ("box_width", "{{parent.out_width}}"),
            ("box_height", "{{parent.out_height}}"), ("box_fixed", "true"),
            ("resize", "none"), ("center", "false")], ["transform"], (0, -150)),
        NodeSpec("Multiply", "present", [("channels", "all"),
                                         ("value", "{{parent.face_present}}")],
                 ["format"], (0, -100)),
        NodeSpec("Output", "Output1", [], ["present"], (0, 0)),
    ]
    return write_gizmo(_header(1, help_text, True), knobs, nodes)


@gizmo("FaceAlign")
def face_align() -> str:
    """Plate -> aligned face crop, per frame from the alignment file."""
    size = schema.PARAMS["crop_size"].default
    return _align_gizmo("plate", (size, size), (
        "Warps the plate into the aligned face crop of one track (crop_from_plate of the "
        "alignment file, per frame, baked as a Transform), so the face can be worked on "
        "in face space, e.g. with an Inference node. Bake reads the file again."))


@gizmo("FaceUnalign")
def face_unalign() -> str:
    """Aligned face crop -> plate, per frame from the alignment file."""
    return _align_gizmo("face", (1920, 1080), (
        "Warps an aligned face crop back onto the plate (plate_from_crop of the alignment "
        "file, per frame, baked as a Transform) at the plate's size: the inverse of "
        "FaceAlign. Bake reads the file again."))
