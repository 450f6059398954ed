"""The multi-band blend on the GPU: the GLSL passes of ``shaders/`` in a headless GL context.

The passes are those of the ``MultiBandBlend`` gizmo (:mod:`faceswap_vfx.nuke.blend_passes`),
one draw of a full-screen triangle per pass, each into an RGBA32F canvas with the origin at
the bottom-left as in Nuke. The result equals :func:`faceswap_vfx.core.blend.multiband_blend`
within float32 rounding: max |GL - core| <= 1e-6 + 1e-7 * max |input|
(``tests/test_shaders_gl.py``).

Used by the preview worker (:mod:`faceswap_vfx.ui.preview_engine`) only: it imports numpy
and, when a context is asked for, moderngl. The panel's UI-thread modules never import it.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import numpy as np

from faceswap_vfx.core.blend import blend_levels
from faceswap_vfx.nuke.blend_passes import INPUTS, KERNELS, blend_passes, output
from faceswap_vfx.nuke.shaders import kernel_source

log = logging.getLogger(__name__)

VERTEX = "#version 330 core\nin vec2 pos;\nvoid main() { gl_Position = vec4(pos, 0.0, 1.0); }\n"
"""The vertex shader of every pass: a triangle that covers the canvas."""

BACKENDS = ("egl", None)
"""moderngl context back ends, tried in order (None: moderngl's default for the platform)."""


class NoGLContext(RuntimeError):
    """No headless GL context could be made (no moderngl, no EGL/GL driver)."""


def create_context() -> Any:
    """A standalone moderngl context, EGL first, then the platform's default. Raises
    :class:`NoGLContext` saying why each back end failed."""
    try:
        import moderngl
    except ImportError as exc:
        raise NoGLContext(f"moderngl is not installed ({exc})") from exc
    errors = []
    for backend in BACKENDS:
        try:
            return (moderngl.create_standalone_context(backend=backend) if backend
                    else moderngl.create_standalone_context())
        except Exception as exc:  # noqa: BLE001 (any driver failure means: no context)
            errors.append(f"{backend or 'default'}: {exc}")
    raise NoGLContext("no headless GL context could be created (" + "; ".join(errors) + ")")


class GLBlend:
    """The blend's passes as draws in ``ctx`` (a moderngl context), programs compiled once.

    ``gl_blend(face, plate, mask, plate_levels, mask_sigma)`` on numpy images;
    :meth:`multiband_blend` has the signature of core's, on tensors."""

    def __init__(self, ctx: Any):
        import moderngl

        self.ctx = ctx
        self._triangles = moderngl.TRIANGLES
        self.programs: dict[str, tuple[Any, list[str], Any]] = {}
        self.triangle = ctx.buffer(np.array([-1, -1, 3, -1, -1, 3], "f4").tobytes())
        for stem in KERNELS:
            source = kernel_source(stem, "glsl")  # mbb_common.glsl spliced in
            images = re.findall(r"^uniform sampler2D (\w+);", source, re.M)
            program = ctx.program(vertex_shader=VERTEX, fragment_shader=source)
            vao = ctx.vertex_array(program, [(self.triangle, "2f", "pos")])
            self.programs[stem] = (program, images, vao)

    def __call__(self, face: np.ndarray, plate: np.ndarray, mask: np.ndarray,
                 plate_levels: int, mask_sigma: float, levels: int | None = None
                 ) -> np.ndarray:
        """face (source), plate (target): (H, W, 4) float32, top-left origin; mask: (H, W)
        in [0, 1]. levels: passes planned for that many pyramid levels (None: the levels
        this size has; the gizmo plans ``MAX_LEVELS``). Returns the blend, (H, W, 4)
        float32."""
        h, w = plate.shape[:2]
        if face.shape != (h, w, 4) or mask.shape != (h, w):
            raise ValueError(f"face and plate must be (H, W, 4) and mask (H, W), got "
                             f"{face.shape}, {plate.shape} and {mask.shape}")
        images = (plate, face, np.repeat(mask[..., None], 4, 2))
        # numpy rows top-down -> GL rows bottom-up, and back when read
        canvases = {name: self.ctx.texture((w, h), 4, np.ascontiguousarray(
                        image[::-1], np.float32).tobytes(), dtype="f4")
                    for name, image in zip(INPUTS, images, strict=True)}
        passes = blend_passes(levels or blend_levels(h, w))
        try:
            for p in passes:
                program, samplers, vao = self.programs[p.kernel]
                target = self.ctx.texture((w, h), 4, dtype="f4")
                canvases[p.name] = target
                fbo = self.ctx.framebuffer([target])
                # only level `p.level`'s bottom-left corner: what later passes read of it
                fbo.viewport = (0, 0, _level_size(w, p.level), _level_size(h, p.level))
                fbo.use()
                for unit, (sampler, source) in enumerate(zip(samplers, p.inputs, strict=True)):
                    canvases[source].use(unit)
                    program[sampler].value = unit
                program["level"].value = p.level
                program["fullSize"].value = (w, h)
                for name, value in (("axis", p.axis), ("maskSigma", mask_sigma),
                                    ("plateLevels", plate_levels)):
                    if name in program:
                        program[name].value = value
                vao.render(self._triangles)
                fbo.release()
            out = np.frombuffer(canvases[output(passes)].read(), "f4").reshape(h, w, 4)
            return out[::-1].copy()
        finally:
            for texture in canvases.values():
                texture.release()

    def multiband_blend(self, source: Any, target: Any, mask: Any, plate_levels: int = 2,
                        mask_sigma: float = 2.0) -> Any:
        """:func:`faceswap_vfx.core.blend.multiband_blend` on the GPU. source, target:
        (B, C, H, W) tensors; mask: (B, 1, H, W) in [0, 1]. Returns (B, C, H, W) on the
        input's device, in its dtype (computed in float32, four channels per run)."""
        import torch

        if source.ndim != 4 or source.shape != target.shape or \
                mask.shape != (source.shape[0], 1, *source.shape[2:]):
            raise ValueError(f"source and target must be (B, C, H, W) and mask (B, 1, H, W), "
                             f"got {tuple(source.shape)}, {tuple(target.shape)} and "
                             f"{tuple(mask.shape)}")
        b, c, h, w = source.shape
        to_hwc = lambda t: t.detach().float().cpu().permute(0, 2, 3, 1).numpy()  # noqa: E731
        s, t, m = to_hwc(source), to_hwc(target), to_hwc(mask)[..., 0]
        c4 = -(-c // 4) * 4  # channels padded to whole RGBA canvases
        s, t = (np.pad(a, ((0, 0), (0, 0), (0, 0), (0, c4 - c))) for a in (s, t))
        out = np.empty((b, h, w, c4), np.float32)
        for i in range(b):
            for c0 in range(0, c4, 4):
                out[i, ..., c0:c0 + 4] = self(s[i, ..., c0:c0 + 4], t[i, ..., c0:c0 + 4], m[i],
                                              plate_levels, mask_sigma)
        out = out[..., :c]
        return torch.from_numpy(out).permute(0, 3, 1, 2).to(source.device, source.dtype)

    def release(self) -> None:
        """Free the programs and buffers (not the context)."""
        for program, _, vao in self.programs.values():
            vao.release()
            program.release()
        self.triangle.release()
        self.programs.clear()


def _level_size(full: int, level: int) -> int:
    """A side of ``full`` pixels halved ``level`` times, rounding up (``levelSize``)."""
    for _ in range(level):
        full = (full + 1) // 2
    return full


def gl_blend() -> GLBlend:
    """A :class:`GLBlend` in a new standalone context (:func:`create_context`). Raises
    :class:`NoGLContext` when none can be made, or a shader fails to build there."""
    ctx = create_context()
    try:
        return GLBlend(ctx)
    except Exception as exc:  # a driver without GLSL 330 or RGBA32F targets
        ctx.release()
        raise NoGLContext(f"the blend's shaders do not build in this GL context: {exc}") from exc
