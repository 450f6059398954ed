"""The blend kernels in shaders/: BlinkScript and GLSL line for line, parameters as the schema.

BlinkScript only runs inside Nuke, so it is checked here for what can be checked without
it: its structure, that its shared lines are the GLSL's (which test_shaders_gl.py runs),
that every kernel takes its helpers from the one prelude (mbb_common) and defines each
function once, that its parameters match the schema, and, where g++ is installed, that
the source the gizmo embeds compiles as C++ against a stand-in of Blink's types (catching
typos, undeclared names and helpers spliced outside the kernel, where ``fetch`` is unknown).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import textwrap

import pytest

from faceswap_vfx.nuke import shaders
from faceswap_vfx.nuke.blend_passes import KERNELS
from faceswap_vfx.nuke.gizmos import kernel_name
from faceswap_vfx.nuke.shaders import LANGUAGES, SHADERS, kernel_source
from faceswap_vfx.params import PARAMS

BEGIN, END = "// --- shared: begin ---", "// --- shared: end ---"
BLINK_TO_GLSL = {"float4": "vec4", "int2": "ivec2", "float2": "vec2"}
PRELUDE = "mbb_common"
COMMON = ("clampi", "levelSize", "levelCount", "flipRow", "pixelTop", "sourceCoord",
          "upsampled")
# Functions outside the shared lines: image access and entry points, per language.
OWN = {"glsl": {"fetch", "main"}, "blink": {"define", "fetch", "process"}}
DEFINITION = re.compile(r"^\s*\w+ (\w+)\([^;]*\) \{$")


def shared(text: str) -> list[str]:
    """The stripped lines between the shared markers."""
    lines = [line.strip() for line in text.splitlines()]
    return lines[lines.index(BEGIN) + 1:lines.index(END)]


def outside(text: str) -> list[str]:
    """The lines before and after the shared markers."""
    lines = text.splitlines()
    stripped = [line.strip() for line in lines]
    return lines[:stripped.index(BEGIN)] + lines[stripped.index(END) + 1:]


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


def definitions(lines: list[str]) -> list[str]:
    """Names of the functions defined in ``lines``, in order, repeats kept."""
    return [m.group(1) for m in map(DEFINITION.match, lines) if m]


def blink_params(text: str) -> list[tuple[str, str]]:
    """(type, name) of the ``param:`` section."""
    section = text.split("param:", 1)[1].split("void define()", 1)[0]
    return re.findall(r"^\s*(int|int2|float|bool)\s+(\w+);", section, re.M)


def glsl_uniforms(text: str) -> list[tuple[str, str]]:
    return re.findall(r"^uniform (\w+) (\w+);", text, re.M)


@pytest.mark.parametrize("stem", (PRELUDE, *KERNELS))
def test_blink_and_glsl_share_their_lines(stem):
    blink, glsl = (SHADERS / f"{stem}.blink").read_text(), (SHADERS / f"{stem}.glsl").read_text()
    b, g = shared(blink), shared(glsl)
    names = list(functions(g))
    if stem == PRELUDE:
        assert names == list(COMMON)
    else:  # the kernel's own helpers, if any, then its body
        assert names[-1] == "shade" and not set(names) & set(COMMON), names
    mismatch = [(i, x, y) for i, (x, y) in enumerate(zip(map(to_glsl, b), g, strict=False))
                if x != y]
    assert not mismatch and len(b) == len(g), f"{stem}: first difference {mismatch[:1]}"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("stem", (PRELUDE, *KERNELS))
def test_only_image_access_and_entry_points_are_outside_the_shared_lines(stem, language):
    """So that the line-for-line comparison covers all the blend's logic."""
    own = definitions(outside((SHADERS / f"{stem}.{language}").read_text()))
    assert sorted(own) == ([] if stem == PRELUDE else sorted(OWN[language])), stem


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("stem", KERNELS)
def test_every_kernel_takes_the_helpers_from_the_prelude_and_defines_each_once(stem, language):
    raw = (SHADERS / f"{stem}.{language}").read_text()
    assert re.findall(r'^\s*#include "(.*)"$', raw, re.M) == [f"{PRELUDE}.{language}"]
    source = kernel_source(stem, language)
    assert not re.search(r'#include\s+"', source)  # nothing left for a loader to resolve
    if language == "glsl":
        assert source.startswith("#version 330 core\n")
    code = [line.split("//")[0] for line in source.splitlines()]
    names = definitions(code)
    assert len(names) == len(set(names)), f"{stem}.{language}: defined twice: {names}"
    assert set(COMMON) <= set(names)
    for name in names:  # defined before any use (GLSL needs it; Blink the same way)
        first = next(i for i, line in enumerate(code) if re.search(rf"\b{name}\(", line))
        assert DEFINITION.match(code[first]), f"{stem}.{language}: {name} used before defined"


@pytest.mark.parametrize("language", LANGUAGES)
def test_kernel_source_puts_the_prelude_where_the_include_stands_indented_as_it(language):
    raw = (SHADERS / f"mbb_band.{language}").read_text()
    include = re.search(r'^( *)#include "(.*)"$', raw, re.M)
    prelude = (SHADERS / include.group(2)).read_text().rstrip("\n")
    want = raw.replace(include.group(0), textwrap.indent(prelude, include.group(1)))
    assert kernel_source("mbb_band", language) == want
    if language == "blink":
        assert include.group(1) == "  "  # inside the kernel, beside fetch and shade
        assert "  int clampi(int v, int lo, int hi) {" in want.splitlines()


def test_kernel_source_refuses_what_it_cannot_splice(tmp_path, monkeypatch):
    monkeypatch.setattr(shaders, "SHADERS", tmp_path)
    (tmp_path / "k.glsl").write_text('#version 330 core\n#include "p.blink"\n')
    (tmp_path / "n.glsl").write_text('#include "q.glsl"\n')
    (tmp_path / "m.glsl").write_text('#include "n.glsl"\n')
    with pytest.raises(ValueError, match="unknown shader language"):
        kernel_source("k", "hlsl")
    with pytest.raises(ValueError, match="not a .glsl file"):
        kernel_source("k", "glsl")
    with pytest.raises(ValueError, match="cannot include"):
        kernel_source("m", "glsl")
    with pytest.raises(FileNotFoundError):
        kernel_source("n", "glsl")


@pytest.mark.parametrize("stem", KERNELS)
def test_blink_kernel_structure_and_parameters_match_the_glsl(stem):
    blink, glsl = kernel_source(stem, "blink"), kernel_source(stem, "glsl")
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
        blink = kernel_source(stem, "blink")
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
    shim, kernel = tmp_path / "blink.h", tmp_path / f"{stem}.blink"
    shim.write_text(BLINK_STAND_IN)
    kernel.write_text(kernel_source(stem, "blink"))  # what the gizmo embeds
    run = subprocess.run([gxx, "-std=c++17", "-fsyntax-only", "-Wall", "-Werror", "-include",
                          str(shim), "-x", "c++", str(kernel)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
