"""The committed Nuke plug-in (nuke_gizmos/): up to date with the schema, every knob and
node accounted for, every callback importable, init.py and menu.py loadable."""

from __future__ import annotations

import ast
import importlib
import re
import runpy
import sys
import types
from pathlib import Path

import pytest

from faceswap_vfx.cli.main import main
from faceswap_vfx.nuke.blend_passes import KERNELS
from faceswap_vfx.nuke.blink import parse_kernel, read_description
from faceswap_vfx.nuke.gizmos import GIZMOS, generate, kernel_name
from faceswap_vfx.nuke.knobs import DYNAMIC_MENUS, FLAGS, INTERNAL_KNOBS, KNOB_TYPES
from faceswap_vfx.nuke.script import NUKE_NODE_CLASSES
from faceswap_vfx.nuke.shaders import kernel_source
from faceswap_vfx.nuke.tcl import Node, parse_script
from faceswap_vfx.params import PARAMS

PLUGIN = Path(__file__).resolve().parents[1] / "nuke_gizmos"
GIZMO_DIR = PLUGIN / "gizmos"
# What each schema kind must look like in Nuke, stated here independently of the generator.
KNOB_OF_KIND = {"float": 7, "int": 3, "bool": 6, "enum": 4, "string": 1, "file": 2}
PARAMS_ON = {"FaceSwap": set(PARAMS), "MultiBandBlend": {"plate_levels", "mask_sigma"},
             "FaceAlign": {"track"}, "FaceUnalign": {"track"}}
REGENERATE = "out of date with the schema: run 'faceswap-vfx gizmos write' and commit"


def committed() -> dict[str, Node]:
    return {p.stem: parse_script(p.read_text()).nodes[0] for p in sorted(GIZMO_DIR.glob("*.gizmo"))}


def test_committed_gizmos_are_what_the_generator_makes():
    made = generate()
    assert sorted(p.name for p in GIZMO_DIR.glob("*.gizmo")) == sorted(made)
    for name, text in made.items():
        assert (GIZMO_DIR / name).read_text() == text, f"{name}: {REGENERATE}"


def test_gizmos_write_check_finds_and_fixes_a_stale_file(tmp_path, capsys):
    assert main(["gizmos", "write", "--check", "--out", str(GIZMO_DIR)]) == 0
    assert main(["gizmos", "write", "--out", str(tmp_path)]) == 0
    stale = tmp_path / "FaceSwap.gizmo"
    stale.write_text(stale.read_text().replace("plate_levels 2", "plate_levels 3"))
    capsys.readouterr()
    assert main(["gizmos", "write", "--check", "--out", str(tmp_path)]) == 1
    assert "FaceSwap.gizmo: out of date" in capsys.readouterr().out
    assert main(["gizmos", "write", "--out", str(tmp_path)]) == 0
    assert stale.read_text() == generate()["FaceSwap.gizmo"]


def _default(value: str | None, kind: str):
    if value is None:
        return None
    if kind in ("int", "float"):
        return float(value)
    if kind == "bool":
        return {"true": True, "false": False}[value]
    return value


@pytest.mark.parametrize("name", sorted(PARAMS_ON))
def test_every_knob_is_a_schema_parameter_or_a_documented_internal_one(name):
    node = committed()[name]
    names = [k.name for k in node.user_knobs if k.name]
    assert len(names) == len(set(names)), "duplicate knob names"
    for knob in node.user_knobs:
        assert set(knob.flags) <= set(FLAGS), f"{knob.name}: undocumented flag {knob.flags}"
        assert knob.type_id in KNOB_TYPES.values(), f"{knob.name}: type {knob.type_id}"
        if knob.type_id == 20 or (knob.type_id == 26 and not knob.name):
            continue  # tabs and dividers: layout only
        if knob.name not in PARAMS:
            assert knob.name in INTERNAL_KNOBS, f"{name}.{knob.name}: neither schema nor documented"
            assert name in INTERNAL_KNOBS[knob.name].split(":")[0], \
                f"{knob.name}: its documentation does not name {name}"
            continue
        p = PARAMS[knob.name]
        if p.name in DYNAMIC_MENUS:
            assert knob.type_id == 4 and "+SAVE_MENU" in knob.flags
            assert _default(node.value(p.name), "string") in (None, p.default or None)
            continue
        assert knob.type_id == KNOB_OF_KIND[p.kind], f"{p.name}: knob type {knob.type_id}"
        assert _default(node.value(p.name), p.kind) == p.default, f"{p.name}: default"
        expected_range = None if p.minimum is None else (p.minimum, p.maximum)
        assert knob.range == expected_range, f"{p.name}: range {knob.range}"
        assert knob.menu == (list(p.choices) if p.kind == "enum" else None), p.name
        assert knob.tooltip.startswith(p.help), f"{p.name}: tooltip is not the help"
    assert PARAMS_ON[name] <= {k.name for k in node.user_knobs}, "schema parameters missing"


@pytest.mark.parametrize("name", sorted(PARAMS_ON))
def test_inside_nodes_are_real_nuke_classes_wired_to_the_output(name):
    node = committed()[name]
    assert node.cls == "Gizmo"
    for child in node.children:
        assert child.cls in NUKE_NODE_CLASSES, f"{child.name}: {child.cls} is not in the list"
    inputs = sorted(int(c.value("number") or 0) for c in node.children if c.cls == "Input")
    assert inputs == list(range(int(node.value("inputs"))))
    outputs = [c for c in node.children if c.cls == "Output"]
    assert len(outputs) == 1
    reached, todo = set(), [outputs[0]]
    while todo:
        current = todo.pop()
        if id(current) in reached:
            continue
        reached.add(id(current))
        if current.cls != "Input":
            assert all(i is not None for i in current.inputs), f"{current.name}: empty input"
        todo += [i for i in current.inputs if i is not None]
    dead = [c.name for c in node.children if id(c) not in reached and c.cls != "Input"]
    assert not dead, f"nodes not feeding the output: {dead}"


@pytest.mark.parametrize("name", sorted(PARAMS_ON))
def test_expressions_and_links_name_existing_knobs_and_nodes(name):
    node = committed()[name]
    knobs = {k.name for k in node.user_knobs}
    children = {c.name for c in node.children}
    for child in node.children:
        for knob, words in child.knobs.items():
            if knob == "kernelSource":
                continue
            for word in words:
                for ref in re.findall(r"parent\.(\w+)", word.text):
                    assert ref in knobs, f"{child.name}.{knob} refers to missing parent.{ref}"
    for knob in node.user_knobs:
        if knob.type_id == 41:
            assert knob.text.split(".")[0] in children, f"link {knob.name} -> {knob.text}"


def test_blink_nodes_embed_the_kernels_and_set_every_parameter():
    node = committed()["MultiBandBlend"]
    blinks = [c for c in node.children if c.cls == "BlinkScript"]
    assert len(blinks) > 5
    for child in blinks:
        source = child.value("kernelSource")
        kernel = re.search(r"^kernel (\w+) :", source, re.M).group(1)
        stem = next(s for s in KERNELS if kernel_name(s) == kernel)
        assert source == kernel_source(stem, "blink")  # the kernel with its prelude spliced in
        assert not re.search(r"^\s*#include", source, re.M), f"{child.name}: unresolved #include"
        labels = set(re.findall(r'defineParam\(\w+, "(\w+)"', source))
        order = list(child.knobs)
        set_here = {k[len(kernel) + 1:] for k in order if k.startswith(kernel + "_")}
        assert set_here == labels, f"{child.name}: sets {set_here}, kernel has {labels}"
        params = [i for i, k in enumerate(order) if k.startswith(kernel + "_")]
        assert order.index("rebuild") < min(params) and max(params) < order.index(
            "rebuild_finalise")


def test_blink_nodes_describe_their_kernel_before_any_parameter_value():
    """As Nuke saves a BlinkScript node: KernelDescription first, naming the kernel, its
    images in declaration order and a param per knob the node then sets."""
    for child in (c for c in committed()["MultiBandBlend"].children if c.cls == "BlinkScript"):
        order = list(child.knobs)
        assert [k for k in order if k != "inputs"][0] == "KernelDescription", child.name
        name, images, params = read_description(child.value("KernelDescription"))
        source = child.value("kernelSource")
        assert name == re.search(r"^kernel (\w+) :", source, re.M).group(1)
        declared = re.findall(r"Image<e(Read|Write)[^>]*>\s*(\w+);", source)
        assert [(n, rw) for n, rw, _ in images] == [(n, rw) for rw, n in declared]
        described = {f"{name}_{label}" for label, _ in params}
        assert {k for k in order if k.startswith(name + "_")} == described, child.name
        assert all(kind in ("Int", "Float", "Bool") for _, kind in params)


def test_kernel_description_defaults_are_nukes_bytes():
    kernel = parse_kernel(kernel_source("mbb_blur", "blink"))
    sigma = next(p for p in kernel.params if p.label == "mask_sigma")
    assert (sigma.type, sigma.components, sigma.default_bytes()) == ("Float", 1, "AAAAQA==")
    size = next(p for p in kernel.params if p.variable == "fullSize")
    assert (size.type, size.components, size.default_bytes()) == ("Int", 2, "AAAAAAAAAAA=")
    with pytest.raises(ValueError, match="not a KernelDescription"):
        read_description('1 "K" pixelWise')


def test_blend_inputs_reach_the_kernels_as_rgba():
    """An RGB-only plate or face, or an alpha-only mask, gets its missing channels (as 0)
    before the kernels read float4 pixels."""
    by_name = {c.name: c for c in committed()["MultiBandBlend"].children}
    for name in ("plate", "face", "mask"):
        crop = by_name[f"crop_{name}"]
        add = crop.inputs[0]
        assert (add.cls, add.value("channels"), add.inputs[0].name) == (
            "AddChannels", "rgba", name)


def python_snippets() -> list[tuple[str, str]]:
    out = []
    for name, node in committed().items():
        for header in ("knobChanged", "onCreate"):
            if node.value(header):
                out.append((f"{name}.{header}", node.value(header)))
        out += [(f"{name}.{k.name}", k.text) for k in node.user_knobs if k.type_id == 22]
    return out


def test_there_are_callbacks_to_check():
    assert {where.split(".")[1] for where, _ in python_snippets()} >= {
        "knobChanged", "onCreate", "render", "bake"}


@pytest.mark.parametrize("where, code", python_snippets(),
                         ids=[where for where, _ in python_snippets()])
def test_every_callback_imports_and_names_an_existing_function(where, code):
    tree = ast.parse(code, where)
    modules = {}
    for stmt in ast.walk(tree):
        if isinstance(stmt, ast.ImportFrom):
            for alias in stmt.names:
                module = importlib.import_module(stmt.module)
                value = getattr(module, alias.name, None)
                if value is None:
                    value = importlib.import_module(f"{stmt.module}.{alias.name}")
                modules[alias.asname or alias.name] = value
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    assert calls, f"{where}: calls nothing"
    for call in calls:
        func = call.func
        assert isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name), where
        assert func.value.id in modules, f"{where}: {func.value.id} is not imported"
        assert callable(getattr(modules[func.value.id], func.attr, None)), \
            f"{where}: {func.value.id}.{func.attr} does not exist"


class FakeMenu:
    def __init__(self):
        self.menus, self.commands = {}, {}

    def addMenu(self, name, **_):  # noqa: N802 (Nuke's API)
        return self.menus.setdefault(name, FakeMenu())

    def addCommand(self, name, command, *_, **__):  # noqa: N802
        self.commands[name] = command


@pytest.fixture
def fake_nuke(monkeypatch):
    nuke = types.ModuleType("nuke")
    nuke.plugin_paths, nuke.menus = [], {}
    nuke.pluginAddPath = nuke.plugin_paths.append
    nuke.menu = lambda name: nuke.menus.setdefault(name, FakeMenu())
    monkeypatch.setitem(sys.modules, "nuke", nuke)
    monkeypatch.setattr(sys, "path", list(sys.path))
    return nuke


def test_init_py_adds_the_gizmos_and_the_package(fake_nuke):
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != PLUGIN.parent]
    runpy.run_path(str(PLUGIN / "init.py"), run_name="__main__")
    assert [Path(p) for p in fake_nuke.plugin_paths] == [GIZMO_DIR]
    assert str(PLUGIN.parent) in sys.path


def test_menu_py_offers_every_gizmo(fake_nuke):
    runpy.run_path(str(PLUGIN / "menu.py"), run_name="__main__")
    commands = fake_nuke.menus["Nodes"].menus["FaceSwapVFX"].commands
    assert list(commands) == list(GIZMOS)
    created = []
    fake_nuke.createNode = created.append
    for command in commands.values():
        exec(command, {"nuke": fake_nuke})  # noqa: S102 (our own menu commands)
    assert created == list(GIZMOS) and all((GIZMO_DIR / f"{n}.gizmo").is_file() for n in created)
