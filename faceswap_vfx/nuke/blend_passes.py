"""The multi-band blend as a chain of shader passes (``shaders/mbb_*.blink`` / ``.glsl``).

One plan drives both the ``MultiBandBlend`` gizmo (one BlinkScript node per pass) and the
GLSL runs (one draw per pass), so the test of the GLSL also tests the gizmo's wiring.
Every pass writes a full-size canvas (origin bottom-left); level ``L`` occupies its
bottom-left ``ceil(W / 2^L) x ceil(H / 2^L)`` pixels. The kernels work out from the
plate size how many levels are active (``core.blend.blend_levels``) and write zeros for
the others, so a plan of :data:`MAX_LEVELS` blends any plate up to that size.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_LEVELS = 14
"""Levels in the gizmo: enough for ``min(H, W) <= 2**14`` (16384 px)."""

INPUTS = ("plate", "face", "mask")
"""The blend's inputs in the gizmo's input order: the target, the source, the mask (alpha)."""

KERNELS = ("mbb_down", "mbb_mask", "mbb_blur", "mbb_band", "mbb_collapse")
"""Shader stems in ``shaders/``, in the order the passes use them."""


@dataclass(frozen=True)
class Pass:
    """One draw: ``kernel`` reading ``inputs`` (earlier passes or :data:`INPUTS`, in the
    order the kernel declares its images) for pyramid ``level``; ``axis`` for the blur."""

    name: str
    kernel: str
    inputs: tuple[str, ...]
    level: int
    axis: int | None = None


def gaussian(image: str, level: int) -> str:
    """The pass (or input) holding Gaussian ``level`` of ``image`` ("face" or "plate")."""
    return image if level == 0 else f"down_{image}_{level}"


def blend_passes(levels: int = MAX_LEVELS) -> list[Pass]:
    """The passes of a blend with ``levels`` pyramid levels, each after those it reads.
    The last pass, :func:`output`, holds the blend."""
    if levels < 1:
        raise ValueError(f"levels must be >= 1, got {levels}")
    passes = []
    for image in ("face", "plate"):
        passes += [Pass(gaussian(image, lv), "mbb_down", (gaussian(image, lv - 1),), lv)
                   for lv in range(1, levels)]
    for lv in range(levels):
        passes += [Pass(f"mask_{lv}", "mbb_mask", ("mask",), lv),
                   Pass(f"blur_x_{lv}", "mbb_blur", (f"mask_{lv}",), lv, 0),
                   Pass(f"blur_y_{lv}", "mbb_blur", (f"blur_x_{lv}",), lv, 1)]
    for lv in range(levels):
        nxt = min(lv + 1, levels - 1)  # the coarsest band never reads its "next" level
        passes.append(Pass(f"band_{lv}", "mbb_band",
                           (gaussian("face", lv), gaussian("face", nxt), gaussian("plate", lv),
                            gaussian("plate", nxt), f"blur_y_{lv}"), lv))
    for lv in reversed(range(levels)):
        coarser = f"collapse_{lv + 1}" if lv + 1 < levels else f"band_{lv}"
        passes.append(Pass(f"collapse_{lv}", "mbb_collapse", (f"band_{lv}", coarser), lv))
    return passes


def output(passes: list[Pass]) -> str:
    """The name of the pass that holds the blend (level 0 collapsed)."""
    return passes[-1].name
