"""The multi-band blend on its own, over image sequences (``faceswap-vfx blend``).

Per frame: the target (the plate) is read whole; the source's R, G, B and one channel of
the mask are read and laid over the target's data window (0 outside their own data
windows; their display windows must be the target's). The mask, grown and feathered like
the render's landmark mask (``mask_grow``, ``edge_feather``) and optionally multiplied or
replaced by a matte, is the final alpha; Algorithm 1 runs under its hard core
(:func:`~faceswap_vfx.core.composite.blend_under`). R, G, B of the target change only
where the final alpha is above 0; every other channel and all metadata pass through, and
``output_alpha`` writes the alpha into ``A``. The frames are rendered by
:func:`~faceswap_vfx.render.job.render_sequence` (skip done frames, atomic writes,
progress, failed frames named, stages overlapped).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from faceswap_vfx.core.composite import blend_under
from faceswap_vfx.core.mask import finite_mask, soft_mask
from faceswap_vfx.io.colour import convert
from faceswap_vfx.io.image import Image, read_channels
from faceswap_vfx.io.sequence import FramePattern
from faceswap_vfx.render.frame import finite_rgb, to_numpy, to_tensor, write_rgb
from faceswap_vfx.render.graph import Graph
from faceswap_vfx.render.nodes import (
    Node,
    ReadMatte,
    ReadPlate,
    WritePlate,
    check_same_format,
    register_node,
)

RGB = ("R", "G", "B")


@register_node
class ReadSource(Node):
    """The source's R, G, B, float32 (H, W, 3) over the target's data window."""

    inputs = ("frame", "image")
    outputs = ("source",)
    stage = "read"

    def __init__(self, pattern: str | Path):
        self.pattern = FramePattern.parse(pattern)

    def run(self, values, params):
        frame, plate = values["frame"], values["image"].part
        path = self.pattern.path(frame)
        part = read_channels(path, RGB, frame)
        check_same_format(part, plate, path, frame)
        return {"source": part.pixels_over(plate.data_window, RGB)}


@register_node
class ReadMask(ReadMatte):
    """The blend's mask: one channel (``A`` if there is one, else the first, unless named),
    float32 (H, W) in [0, 1] over the target's data window."""

    outputs = ("mask",)
    params = ()

    def __init__(self, pattern: str | Path, channel: str | None = None):
        super().__init__(FramePattern.parse(pattern), channel, param=None)


@register_node
class BlendImages(Node):
    """Blend the source into the target under the mask (and matte), in place."""

    inputs = ("image", "source", "mask", "matte")
    outputs = ("blended",)
    params = ("plate_colorspace", "ocio_config", "plate_levels", "mask_sigma", "mask_grow",
              "edge_feather", "matte", "matte_channel", "matte_mode", "blend_colorspace",
              "output_alpha")

    def __init__(self, device: torch.device | str = "cpu"):
        self.device = device

    def run(self, values, params):
        image = values["image"]
        blend_image(image, values["source"], values["mask"], params, matte=values["matte"],
                    device=self.device)
        return {"blended": image}


def blend_image(image: Image, source: np.ndarray, mask: np.ndarray, params: dict[str, Any],
                *, matte: np.ndarray | None = None, device: torch.device | str = "cpu"
                ) -> np.ndarray:
    """Blend ``source`` into the first part of ``image``, in place; return the final alpha.

    source: (H, W, 3) float, in the plate's colour space; mask, matte: (H, W) in [0, 1];
    all over the part's data window. Returns (H, W) float32 in [0, 1]: R, G, B keep their
    exact bits wherever it is 0.
    """
    part = image.part
    if source.shape != (*part.shape, 3) or mask.shape != part.shape:
        raise ValueError(f"source {source.shape} and mask {mask.shape} must cover the data "
                         f"window {part.shape}")
    alpha = soft_mask(mask, params["edge_feather"], params["mask_grow"])
    if matte is not None:
        alpha = finite_mask(matte) * (alpha if params["matte_mode"] == "multiply" else 1.0)
    alpha = alpha.astype(np.float32)
    cs_plate, cs_blend, config = (params["plate_colorspace"], params["blend_colorspace"],
                                  params["ocio_config"])
    plate_rgb = finite_rgb(part.rgb(), copy=False)
    target_t = to_tensor(convert(plate_rgb, cs_plate, cs_blend, config, copy=False), device)
    source_t = to_tensor(convert(finite_rgb(source), cs_plate, cs_blend, config), device)
    alpha_t = torch.from_numpy(alpha)[None, None].to(device)
    out = blend_under(target_t, source_t, alpha_t, plate_levels=params["plate_levels"],
                      mask_sigma=params["mask_sigma"])
    everywhere = (slice(None), slice(None))
    write_rgb(part, everywhere, convert(to_numpy(out), cs_blend, cs_plate, config), alpha > 0)
    if params["output_alpha"]:
        part.channels["A"] = alpha.astype(part.channels.get("A", alpha).dtype)
    return alpha


def blend_graph(target: str | Path, source: str | Path, mask: str | Path, out: str | Path,
                *, mask_channel: str | None = None, matte: str | Path | None = None,
                device: torch.device | str = "cpu") -> Graph:
    """ReadPlate (target) -> ReadSource -> ReadMask -> ReadMatte -> BlendImages ->
    WritePlate. Patterns name one file per frame (a pattern without a frame token: the
    same file for every frame, e.g. a still mask)."""
    return Graph([ReadPlate(FramePattern.parse(target)), ReadSource(source),
                  ReadMask(mask, mask_channel),
                  ReadMatte(FramePattern.parse(matte) if matte else None),
                  BlendImages(device), WritePlate(out)])
