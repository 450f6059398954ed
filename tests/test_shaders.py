"""The blend kernels in shaders/: BlinkScript and GLSL line for line, parameters as the schema.

BlinkScript only runs inside Nuke, so it is checked here for what can be checked without
it: its structure, that its shared lines are the GLSL's (which test_shaders_gl.py runs),
that its parameters match the schema, and, where g++ is installed, that it compiles as
C++ against a stand-in of Blink's types (catching typos and undeclared names).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from faceswap_vfx.nuke.blend_passes import KERNELS
from faceswap_vfx.nuke.gizmos import kernel_name
from faceswap_vfx.params import PARAMS

SHADERS = Path(__file__).resolve().parents[1] / "shaders"
BEGIN, END = "// --- shared: begin ---", "// --- shared: end ---"
BLINK_TO_GLSL = {"float4": "vec4", "int2": "ivec2", "float2": "vec2"}
COMMON = ("clampi", "levelSize", "levelCount", "flipRow", "pixelTop")


def shared(text: str) -> list[str]:
    """The stripped lines between the shared markers."""
    lines = [line.strip() for line in text.splitlines()]
    return lines[lines.index(BEGIN) + 1:lines.index(END)]


def to_glsl(line: str) -> str:
    return re.sub(r"\b(" + "|".join(BLINK_TO_GLSL) + r")\b",
                  lambda m: BLINK_TO_GLSL[m.group(1)], line)


def functions(lines: list[str]) -> dict[str, str]:
    """Top-level functions of a shared region by name (their text)."""
    out, name, body, depth = {}, None, [], 0
    for line in lines:
        m = re.match(r"\w+ (\w+)\(.*\) \{$", line)
        if depth == 0 and m:
            name, body = m.group(1), []
        if name:
            body.append(line)
        depth += line.count("{") - line.count("}")
        if name and depth == 0:
            out[name], name = "\n".join(body), None
    return out


def blink_params(text: str) -> list[tuple[str, str]]:
    """(type, name) of the ``param:`` section."""
    section = text.split("param:", 1)[1].split("void define()", 1)[0]
    return re.findall(r"^\s*(int|int2|float|bool)\s+(\w+);", section, re.M)


def glsl_uniforms(text: str) -> list[tuple[str, str]]:
    return re.findall(r"^uniform (\w+) (\w+);", text, re.M)


@pytest.mark.parametrize("stem", KERNELS)
def test_blink_and_glsl_share_their_lines(stem):
    blink, glsl = (SHADERS / f"{stem}.blink").read_text(), (SHADERS / f"{stem}.glsl").read_text()
    b, g = shared(blink), shared(glsl)
    assert len(b) > 20
    mismatch = [(i, x, y) for i, (x, y) in enumerate(zip(map(to_glsl, b), g, strict=False))
                if x != y]
    assert not mismatch and len(b) == len(g), f"{stem}: first difference {mismatch[:1]}"


@pytest.mark.parametrize("stem", KERNELS)
def test_blink_kernel_structure_and_parameters_match_the_glsl(stem):
    blink, glsl = (SHADERS / f"{stem}.blink").read_text(), (SHADERS / f"{stem}.glsl").read_text()
    assert re.search(rf"^kernel {kernel_name(stem)} : ImageComputationKernel<ePixelWise>$",
                     blink, re.M)
    assert blink.count("{") == blink.count("}") and blink.rstrip().endswith("};")
    assert "void process(int2 pos) {" in blink and "dst() = shade(pos.x, pos.y);" in blink
    images = re.findall(r"Image<eRead, eAccessRandom, eEdgeClamped> (\w+);", blink)
    uniforms = glsl_uniforms(glsl)
    assert images == [name for typ, name in uniforms if typ == "sampler2D"]
    params = [(BLINK_TO_GLSL.get(t, t), n) for t, n in blink_params(blink)]
    assert params == [(t, n) for t, n in uniforms if t != "sampler2D"]
    defined = re.findall(r'defineParam\((\w+), "(\w+)", ([^;]+)\);', blink)
    assert [d[0] for d in defined] == [n for _, n in blink_params(blink)]


def test_schema_parameters_of_the_kernels_match_the_schema():
    seen = set()
    for stem in KERNELS:
        blink = (SHADERS / f"{stem}.blink").read_text()
        types = dict((n, t) for t, n in blink_params(blink))
        for var, label, default in re.findall(r'defineParam\((\w+), "(\w+)", ([^;]+)\);', blink):
            if label not in PARAMS:
                assert label in ("level", "fullSize", "axis"), f"{stem}: unknown label {label}"
                continue
            p = PARAMS[label]
            seen.add(label)
            assert types[var] == {"int": "int", "float": "float"}[p.kind], (stem, label)
            assert float(default.rstrip("f")) == p.default, (stem, label, default)
    assert seen == {"plate_levels", "mask_sigma"}


def test_common_helpers_are_the_same_in_every_kernel():
    bodies = {stem: functions(shared((SHADERS / f"{stem}.glsl").read_text())) for stem in KERNELS}
    for name in COMMON:
        texts = {stem: fns[name] for stem, fns in bodies.items()}
        assert len(set(texts.values())) == 1, f"{name} differs between kernels"
    assert bodies["mbb_band"]["upsampled"] == bodies["mbb_collapse"]["upsampled"]


BLINK_STAND_IN = r"""
#include <cmath>
enum { ePixelWise, eComponentWise };
enum { eRead, eWrite, eReadWrite, eAccessPoint, eAccessRandom, eEdgeClamped, eEdgeConstant };
struct float4 {
  float x, y, z, w;
  explicit float4(float v) : x(v), y(v), z(v), w(v) {}
  float4(float a, float b, float c, float d) : x(a), y(b), z(c), w(d) {}
};
inline float4 operator+(float4 a, float4 b) {
  return float4(a.x + b.x, a.y + b.y, a.z + b.z, a.w + b.w);
}
inline float4 operator-(float4 a, float4 b) {
  return float4(a.x - b.x, a.y - b.y, a.z - b.z, a.w - b.w);
}
inline float4 operator*(float4 a, float k) { return float4(a.x * k, a.y * k, a.z * k, a.w * k); }
inline float4& operator+=(float4& a, float4 b) { a = a + b; return a; }
struct int2 { int x, y; int2(int a, int b) : x(a), y(b) {} };
template <int... Options> struct Image {
  float4 operator()(int, int) const { return float4(0.0f); }
  float4& operator()() { static float4 v(0.0f); return v; }
};
template <int Mode> struct ImageComputationKernel {};
template <class T, class U> void defineParam(T&, const char*, U) {}
#define kernel struct
#define param public
"""


@pytest.mark.parametrize("stem", KERNELS)
def test_blink_compiles_as_cpp_against_a_stand_in(stem, tmp_path):
    gxx = shutil.which("g++")
    if gxx is None:
        pytest.skip("g++ is not installed (apt-get install g++): BlinkScript compile check")
    shim = tmp_path / "blink.h"
    shim.write_text(BLINK_STAND_IN)
    run = subprocess.run([gxx, "-std=c++17", "-fsyntax-only", "-Wall", "-Werror", "-include",
                          str(shim), "-x", "c++", str(SHADERS / f"{stem}.blink")],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
