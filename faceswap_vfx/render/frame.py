"""Swap the faces of one plate frame: crop, network, warp back, blend, composite.

Colour: the plate's RGB is in ``plate_colorspace``; the network sees
``working_colorspace`` (only the crop is converted); the blend runs in
``blend_colorspace``; the result goes back to the plate's colour space. Pixels whose final
alpha is 0, and every channel other than R, G, B, keep the plate's exact bits. The final
alpha is written to the ``faceswap.mask`` channel (and to ``A`` with ``output_alpha``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from faceswap_vfx.core.composite import blend_face, face_roi, roi_pad
from faceswap_vfx.core.geometry import apply, invert
from faceswap_vfx.core.warp import warp_affine
from faceswap_vfx.io.colour import convert
from faceswap_vfx.io.image import Image, ImagePart

MASK_CHANNEL = "faceswap.mask"
HALF_MAX = 65504.0

Generate = Callable[[torch.Tensor], torch.Tensor]
"""``generate(crops) -> faces``: (B, 3, r, r) working-space crops in [0, 1] -> the same
shape, the chosen identity's faces (encoder + that identity's decoder)."""


@dataclass
class Face:
    """One face to replace: (68, 2) landmarks and the 3x3 ``plate_from_crop``, in display
    window pixels (see the alignment file), and the crop size."""

    landmarks: np.ndarray
    plate_from_crop: np.ndarray
    crop_size: int


@dataclass
class FrameResult:
    """What :func:`swap_frame` did: the faces composited and the ROI of each."""

    faces_done: int = 0
    rois: list[tuple[int, int, int, int]] = field(default_factory=list)


def _data_from_display(part: ImagePart) -> np.ndarray:
    dx = part.display_window.x - part.data_window.x
    dy = part.display_window.y - part.data_window.y
    return np.array([[1.0, 0.0, dx], [0.0, 1.0, dy], [0.0, 0.0, 1.0]])


def _finite(rgb: np.ndarray) -> np.ndarray:
    """NaN -> 0 and +-Inf -> +-65504 (half's largest), so pyramids stay finite."""
    return np.nan_to_num(rgb, nan=0.0, posinf=HALF_MAX, neginf=-HALF_MAX)


def swap_frame(image: Image, faces: Sequence[Face], generate: Generate,
               params: dict[str, Any], *, device: torch.device | str = "cpu",
               matte: np.ndarray | None = None) -> FrameResult:
    """Replace ``faces`` in ``image`` (its first part, channels R, G, B) in place.

    params: resolved parameter values (:mod:`faceswap_vfx.params`). matte: optional
    (H, W) float over the data window. Adds the ``faceswap.mask`` channel (half).
    """
    part = image.part
    rgb = part.rgb()  # (H, W, 3) float32 over the data window
    h, w = part.shape
    alpha_total = np.zeros((h, w), np.float32)
    result = FrameResult()
    cs = {k: params[k] for k in ("plate_colorspace", "working_colorspace", "blend_colorspace")}
    config = params["ocio_config"]
    data_from_display = _data_from_display(part)
    for face in faces:
        plate_from_crop = data_from_display @ face.plate_from_crop
        roi = face_roi(plate_from_crop, face.crop_size, (h, w),
                       roi_pad(params["edge_feather"], params["mask_grow"]))
        if roi.empty:
            continue
        target = _finite(rgb[roi.slices])
        crop = _network_input(target, roi.from_plate() @ plate_from_crop, face.crop_size,
                              cs, config, device)
        generated = generate(crop).float().clamp(0, 1)[0].permute(1, 2, 0).cpu().numpy()
        generated = convert(generated, cs["working_colorspace"], cs["blend_colorspace"], config)
        target_b = convert(target, cs["plate_colorspace"], cs["blend_colorspace"], config)
        t = torch.from_numpy(np.ascontiguousarray(target_b)).permute(2, 0, 1)[None].to(device)
        g = torch.from_numpy(np.ascontiguousarray(generated)).permute(2, 0, 1)[None].to(device)
        out, alpha = blend_face(
            t, g, roi.from_plate() @ plate_from_crop,
            apply(roi.from_plate() @ data_from_display, face.landmarks),
            plate_levels=params["plate_levels"], mask_sigma=params["mask_sigma"],
            mask_grow=params["mask_grow"], edge_feather=params["edge_feather"],
            matte=None if matte is None else matte[roi.slices],
            matte_mode=params["matte_mode"])
        out_rgb = convert(out[0].permute(1, 2, 0).cpu().numpy(), cs["blend_colorspace"],
                          cs["plate_colorspace"], config)
        a = alpha[0, 0].cpu().numpy()
        _write_rgb(part, roi.slices, out_rgb, a > 0)
        alpha_total[roi.slices] = np.maximum(alpha_total[roi.slices], a)
        result.faces_done += 1
        result.rois.append((roi.x0, roi.y0, roi.x1, roi.y1))
    part.channels[MASK_CHANNEL] = alpha_total.astype(np.float16)
    if params["output_alpha"]:
        part.channels["A"] = alpha_total.astype(part.channels.get("A", alpha_total).dtype)
    return result


def _network_input(target: np.ndarray, roi_from_crop: np.ndarray, size: int,
                   cs: dict[str, str], config: str, device: torch.device | str
                   ) -> torch.Tensor:
    """The aligned crop the network sees: (1, 3, r, r) working space, clipped to [0, 1]."""
    roi_t = torch.from_numpy(np.ascontiguousarray(target)).permute(2, 0, 1)[None]
    crop = warp_affine(roi_t, invert(roi_from_crop), (size, size), padding="border")
    crop_np = convert(crop[0].permute(1, 2, 0).numpy(), cs["plate_colorspace"],
                      cs["working_colorspace"], config)
    return torch.from_numpy(np.clip(crop_np, 0, 1)).permute(2, 0, 1)[None].to(device)


def _write_rgb(part: ImagePart, slices: tuple[slice, slice], rgb: np.ndarray,
               where: np.ndarray) -> None:
    """Write ``rgb`` into R, G, B of ``part`` at ``slices`` only where ``where`` is true,
    in each channel's own pixel type."""
    for i, name in enumerate(("R", "G", "B")):
        channel = part.channels[name]
        region = channel[slices]
        region[where] = rgb[..., i][where].astype(channel.dtype)
