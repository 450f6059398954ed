"""The GLSL multi-band blend, run for real in a headless GL context, against core.blend.

The passes are those of the MultiBandBlend gizmo (faceswap_vfx.nuke.blend_passes), on
RGBA32F canvases with the origin at the bottom-left as in Nuke, driven by the preview's
GL blend (faceswap_vfx.ui.gl_blend), so these tests cover both. Tolerance, float32 on
both sides: max |GLSL - core| <= 1e-6 + 1e-7 * max |input| (measured: about 7e-9 of the
peak with HDR inputs up to 65504). Needs moderngl and an EGL driver (Mesa's llvmpipe:
apt-get install libegl1 libegl-mesa0 libgl1 libgl1-mesa-dri); skips when no GL context
can be made.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from faceswap_vfx.core.blend import multiband_blend
from faceswap_vfx.nuke.blend_passes import MAX_LEVELS

pytest.importorskip("moderngl", reason="moderngl is not installed (pip install moderngl): "
                                       "the GLSL blend test needs it")

from faceswap_vfx.ui.gl_blend import NoGLContext, gl_blend  # noqa: E402


@pytest.fixture(scope="module")
def glsl():
    """The preview's GLSL blend (faceswap_vfx.ui.gl_blend), which these tests drive."""
    try:
        blend = gl_blend()
    except NoGLContext as exc:
        pytest.skip(str(exc))
    yield blend
    blend.release()
    blend.ctx.release()


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
def test_glsl_blend_matches_core(glsl, h, w, plate_levels, mask_sigma):
    face, plate, mask = hdr_case(h, w, seed=h * w)
    want = core_blend(face, plate, mask, plate_levels, mask_sigma)
    for levels in (None, MAX_LEVELS):  # the levels this size has (preview), the gizmo's plan
        got = glsl(face, plate, mask, plate_levels, mask_sigma, levels)
        assert np.abs(got - want).max() <= tolerance(face, plate), levels


def test_the_comparison_sees_a_wrong_blend(glsl):
    face, plate, mask = hdr_case(37, 45, seed=7)
    got = glsl(face, plate, mask, 2, 1.7)
    for wrong in (core_blend(face, plate, mask[::-1].copy(), 2, 1.7),  # mask upside down
                  core_blend(face, plate, mask, 3, 1.7),                # one level less
                  core_blend(face, plate, mask, 2, 1.2)):               # softer mask
        assert np.abs(got - wrong).max() > 100 * tolerance(face, plate)


def test_the_preview_blend_matches_core_on_a_preview_sized_roi(glsl):
    """The tensor entry point the preview uses (as core.blend.multiband_blend is called by
    core.composite.blend_under): three channels, a hard mask, a face-sized ROI."""
    face, plate, mask = hdr_case(301, 287, seed=3)
    t = lambda a: torch.from_numpy(np.moveaxis(a, -1, 0).copy())[None]  # noqa: E731
    source, target, hard = t(face[..., :3]), t(plate[..., :3]), t(mask[..., None])
    want = multiband_blend(source, target, hard, plate_levels=2, mask_sigma=2.0)
    got = glsl.multiband_blend(source, target, hard, plate_levels=2, mask_sigma=2.0)
    assert got.shape == want.shape and got.dtype == want.dtype
    assert (got - want).abs().max().item() <= tolerance(face, plate)
    wrong = multiband_blend(source, target, hard, plate_levels=3, mask_sigma=2.0)
    assert (got - wrong).abs().max().item() > 100 * tolerance(face, plate)
