"""Temporal stability of a rendered sequence: flicker inside the face against the plate's own.

For consecutive frames the render's RGB and the plate's RGB are compared in the same
region: the face mask of the render (its ``faceswap.mask`` channel), the smaller of the
frames' masks. Values are converted from ``plate_colorspace`` to ``working_colorspace``
(an sRGB-like encoding, closer to what a viewer sees) and clipped to [0, 1].

* ``first``: mean ``|I[t] - I[t-1]|`` in the region, per channel and pixel;
* ``second``: mean ``|I[t+1] - 2 I[t] + I[t-1]|``, which cancels steady motion and keeps
  the frame-to-frame jitter a swap adds;
* ``colour``: ``|c[t] - c[t-1]|`` of the face's mean colour ``c`` (the region's weighted
  mean RGB), averaged over channels: brightness and colour flicker, blind to texture.

A render as steady as its plate has ratios (render / plate) near 1; flicker raises them.
``first`` and ``second`` also grow with the face's texture and noise: a face smoother
than the plate's scores below 1 there without being steadier; ``colour`` does not care.
Frames with no face (an empty mask) break the chain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from faceswap_vfx.errors import ChannelError
from faceswap_vfx.io.colour import convert
from faceswap_vfx.io.image import read_image
from faceswap_vfx.io.sequence import ImageSequence

MASK_CHANNEL = "faceswap.mask"  # written by the render (faceswap_vfx.render.frame)


@dataclass
class Frame:
    """One frame over the display window: render and plate ``(H, W, 3)`` and mask ``(H, W)``."""

    render: np.ndarray
    plate: np.ndarray
    mask: np.ndarray


def _display_mask(part: Any, path: str, frame: int) -> np.ndarray:
    if MASK_CHANNEL not in part.channels:
        raise ChannelError(f"no {MASK_CHANNEL!r} channel: not a faceswap render", path=path,
                           frame=frame)
    dw, fw = part.data_window, part.display_window
    out = np.zeros((fw.height, fw.width), np.float32)
    m = part.channels[MASK_CHANNEL].astype(np.float32)
    x0, y0 = max(dw.x, fw.x), max(dw.y, fw.y)
    x1, y1 = min(dw.x + dw.width, fw.x + fw.width), min(dw.y + dw.height, fw.y + fw.height)
    if x1 > x0 and y1 > y0:
        out[y0 - fw.y:y1 - fw.y, x0 - fw.x:x1 - fw.x] = m[y0 - dw.y:y1 - dw.y, x0 - dw.x:x1 - dw.x]
    return np.nan_to_num(out).clip(0.0, 1.0)


def read_frame(render: ImageSequence, plate: ImageSequence, frame: int,
               plate_colorspace: str, working_colorspace: str, ocio_config: str = "") -> Frame:
    """One frame of a render and its plate, encoded and clipped (see the module docstring)."""
    r = read_image(render.path(frame), frame).part
    p = read_image(plate.path(frame), frame).part

    def enc(part: Any) -> np.ndarray:
        rgb = np.nan_to_num(part.display_rgb(), nan=0.0, posinf=0.0, neginf=0.0)
        return convert(rgb, plate_colorspace, working_colorspace, ocio_config).clip(0.0, 1.0)

    return Frame(enc(r), enc(p), _display_mask(r, str(render.path(frame)), frame))


def masked_mean_abs(a: np.ndarray, w: np.ndarray) -> float:
    """Mean of ``|a|`` ``(H, W, 3)`` weighted by ``w`` ``(H, W)`` over pixels and channels."""
    total = float(w.sum())
    return float((np.abs(a) * w[..., None]).sum() / (3.0 * total)) if total > 0 else float("nan")


def mean_colour(image: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``(3,)`` mean RGB of ``image`` ``(H, W, 3)`` weighted by ``w`` ``(H, W)`` (NaN if empty)."""
    total = float(w.sum())
    if total <= 0:
        return np.full(3, np.nan)
    return (image * w[..., None]).sum((0, 1)) / total


def flicker(frames: list[Frame], numbers: list[int] | None = None) -> dict[str, Any]:
    """Per-step and mean first/second differences of render and plate (module docstring).
    ``numbers``: the frames' numbers; steps across a gap are left out (default: no gaps)."""
    numbers = list(range(len(frames))) if numbers is None else list(numbers)
    first: dict[str, list[float]] = {"render": [], "plate": []}
    second: dict[str, list[float]] = {"render": [], "plate": []}
    colour: dict[str, list[float]] = {"render": [], "plate": []}
    for t in range(1, len(frames)):
        if numbers[t] - numbers[t - 1] != 1:
            continue
        a, b = frames[t - 1], frames[t]
        w = np.minimum(a.mask, b.mask)
        for k in ("render", "plate"):
            first[k].append(masked_mean_abs(getattr(b, k) - getattr(a, k), w))
            colour[k].append(float(np.abs(mean_colour(getattr(b, k), w)
                                          - mean_colour(getattr(a, k), w)).mean()))
        if t + 1 < len(frames) and numbers[t + 1] - numbers[t] == 1:
            c = frames[t + 1]
            w3 = np.minimum(w, c.mask)
            for k in ("render", "plate"):
                d = getattr(c, k) - 2.0 * getattr(b, k) + getattr(a, k)
                second[k].append(masked_mean_abs(d, w3))

    def summary(d: dict[str, list[float]]) -> dict[str, Any]:
        r, p = np.asarray(d["render"], float), np.asarray(d["plate"], float)
        ok = np.isfinite(r) & np.isfinite(p)
        mr = float(r[ok].mean()) if ok.any() else float("nan")
        mp = float(p[ok].mean()) if ok.any() else float("nan")
        return {"render": mr, "plate": mp, "ratio": mr / mp if mp > 0 else float("nan"),
                "steps": int(ok.sum()), "per_step": {"render": d["render"], "plate": d["plate"]}}

    return {"first": summary(first), "second": summary(second), "colour": summary(colour)}


def temporal_stability(render_pattern: str, plate_pattern: str, frames: str | None = None,
                       plate_colorspace: str = "scene_linear",
                       working_colorspace: str = "srgb_tx", ocio_config: str = ""
                       ) -> dict[str, Any]:
    """:func:`flicker` of a rendered sequence against its plate, on the frames both have
    (``frames``: a range such as ``1001-1024``, default every rendered frame)."""
    render = ImageSequence.find(render_pattern, frames)
    plate = ImageSequence.find(plate_pattern, frames)
    common = [f for f in render.frames if f in set(plate.frames)]
    loaded = [read_frame(render, plate, f, plate_colorspace, working_colorspace, ocio_config)
              for f in common]
    out = flicker(loaded, common)
    out.update({"render": render_pattern, "plate": plate_pattern, "frames": common,
                "plate_colorspace": plate_colorspace, "working_colorspace": working_colorspace,
                "face_pixels": [float(f.mask.sum()) for f in loaded]})
    return out
