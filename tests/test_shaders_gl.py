"""The GLSL multi-band blend, run for real in a headless GL context, against core.blend.

The passes are those of the MultiBandBlend gizmo (faceswap_vfx.nuke.blend_passes), on
RGBA32F canvases with the origin at the bottom-left as in Nuke. Tolerance, float32 on
both sides: max |GLSL - core| <= 1e-6 + 1e-7 * max |input| (measured: about 7e-9 of the
peak with HDR inputs up to 65504). Needs moderngl and an EGL driver (Mesa's llvmpipe:
apt-get install libegl1 libegl-mesa0 libgl1 libgl1-mesa-dri); skips when no GL context
can be made.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from faceswap_vfx.core.blend import multiband_blend
from faceswap_vfx.nuke.blend_passes import INPUTS, KERNELS, blend_passes, output
from faceswap_vfx.nuke.shaders import kernel_source

moderngl = pytest.importorskip("moderngl", reason="moderngl is not installed (pip install "
                                                  "moderngl): the GLSL blend test needs it")

VERTEX = "#version 330 core\nin vec2 pos;\nvoid main() { gl_Position = vec4(pos, 0.0, 1.0); }\n"


class GLBlend:
    """The blend's passes as draws of a full-screen triangle, one RGBA32F canvas each."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.programs = {}
        for stem in KERNELS:
            source = kernel_source(stem, "glsl")  # mbb_common.glsl spliced in
            images = re.findall(r"^uniform sampler2D (\w+);", source, re.M)
            self.programs[stem] = (ctx.program(vertex_shader=VERTEX, fragment_shader=source),
                                   images)
        self.triangle = ctx.buffer(np.array([-1, -1, 3, -1, -1, 3], "f4").tobytes())

    def __call__(self, face: np.ndarray, plate: np.ndarray, mask: np.ndarray,
                 plate_levels: int, mask_sigma: float) -> np.ndarray:
        """face, plate: (H, W, 4) float32 top-left origin; mask: (H, W). Returns (H, W, 4)."""
        h, w = plate.shape[:2]
        flip = np.ascontiguousarray  # numpy rows top-down -> GL rows bottom-up and back
        canvases = {name: self.ctx.texture((w, h), 4, flip(image[::-1]).tobytes(), dtype="f4")
                    for name, image in zip(INPUTS, (plate, face, np.repeat(mask[..., None], 4, 2)),
                                           strict=True)}
        passes = blend_passes()
        try:
            for p in passes:
                program, images = self.programs[p.kernel]
                target = self.ctx.texture((w, h), 4, dtype="f4")
                fbo = self.ctx.framebuffer([target])
                fbo.use()
                for unit, (image, source) in enumerate(zip(images, p.inputs, strict=True)):
                    canvases[source].use(unit)
                    program[image].value = unit
                program["level"].value = p.level
                program["fullSize"].value = (w, h)
                for name, value in (("axis", p.axis), ("maskSigma", mask_sigma),
                                    ("plateLevels", plate_levels)):
                    if name in program:
                        program[name].value = value
                vao = self.ctx.vertex_array(program, [(self.triangle, "2f", "pos")])
                vao.render(moderngl.TRIANGLES)
                vao.release()
                fbo.release()
                canvases[p.name] = target
            out = np.frombuffer(canvases[output(passes)].read(), "f4").reshape(h, w, 4)
            return out[::-1].copy()
        finally:
            for texture in canvases.values():
                texture.release()


@pytest.fixture(scope="module")
def gl_blend():
    errors = []
    for backend in ("egl", None):
        try:
            ctx = (moderngl.create_standalone_context(backend=backend) if backend
                   else moderngl.create_standalone_context())
            break
        except Exception as exc:  # noqa: BLE001 (any driver failure means: no context)
            errors.append(f"{backend or 'default'}: {exc}")
    else:
        pytest.skip("no headless GL context could be created (" + "; ".join(errors) + ")")
    yield GLBlend(ctx)
    ctx.release()


def core_blend(face, plate, mask, plate_levels, mask_sigma) -> np.ndarray:
    t = lambda a: torch.from_numpy(np.ascontiguousarray(np.moveaxis(a, -1, 0)))[None]  # noqa: E731
    out = multiband_blend(t(face), t(plate), t(mask[..., None]), plate_levels, mask_sigma)
    return np.moveaxis(out[0].numpy(), 0, -1)


def hdr_case(h: int, w: int, seed: int):
    """Scene-linear face and plate with negatives, highlights and a half-float maximum,
    and an elliptical face mask off centre (so a flipped mask would be wrong)."""
    rng = np.random.default_rng(seed)
    face = rng.uniform(-0.5, 4.0, (h, w, 4)).astype(np.float32)
    plate = rng.uniform(-0.5, 4.0, (h, w, 4)).astype(np.float32)
    face[h // 2, w // 2], plate[h // 3, w // 3], face[0, 0] = 1000.0, -300.0, 65504.0
    yy, xx = np.mgrid[:h, :w]
    mask = (((yy - 0.4 * h) / (h / 3 + 1)) ** 2 + ((xx - w / 2) / (w / 3 + 1)) ** 2 < 1)
    return face, plate, mask.astype(np.float32)


def tolerance(*images: np.ndarray) -> float:
    return 1e-6 + 1e-7 * max(float(np.abs(a).max()) for a in images)


@pytest.mark.parametrize("h, w, plate_levels, mask_sigma", [
    (37, 45, 2, 1.7),   # odd sizes: ceil halving, decimation from the top row
    (64, 64, 0, 0.0),   # power of two, every level from the face, no blur
    (50, 33, 3, 4.0),   # blur wider than the coarse levels (replicated edges)
    (1, 7, 1, 2.0),     # one row: one level
])
def test_glsl_blend_matches_core(gl_blend, h, w, plate_levels, mask_sigma):
    face, plate, mask = hdr_case(h, w, seed=h * w)
    got = gl_blend(face, plate, mask, plate_levels, mask_sigma)
    want = core_blend(face, plate, mask, plate_levels, mask_sigma)
    assert np.abs(got - want).max() <= tolerance(face, plate)


def test_the_comparison_sees_a_wrong_blend(gl_blend):
    face, plate, mask = hdr_case(37, 45, seed=7)
    got = gl_blend(face, plate, mask, 2, 1.7)
    for wrong in (core_blend(face, plate, mask[::-1].copy(), 2, 1.7),  # mask upside down
                  core_blend(face, plate, mask, 3, 1.7),                # one level less
                  core_blend(face, plate, mask, 2, 1.2)):               # softer mask
        assert np.abs(got - wrong).max() > 100 * tolerance(face, plate)
