"""Swap the faces of one plate frame, in stages: crop, generate, inverse warp, blend.

Each stage is a function the render nodes (:mod:`faceswap_vfx.render.nodes`) wrap, so the
panel can re-run the blend on cached generated faces without the network.

Colour: the plate's RGB is in ``plate_colorspace``; the network sees
``working_colorspace`` (only the crop is converted); the blend runs in
``blend_colorspace``; the result goes back to the plate's colour space. Pixels whose final
alpha is 0, and every channel other than R, G, B, keep the plate's exact bits. The final
alpha is written to the ``faceswap.mask`` channel (and to ``A`` with ``output_alpha``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from faceswap_vfx.core.blend import multiband_blend
from faceswap_vfx.core.composite import Blend, Roi, blend_roi, face_roi, roi_pad, warp_face
from faceswap_vfx.core.geometry import apply, invert
from faceswap_vfx.core.mask import bounding_box
from faceswap_vfx.core.warp import warp_affine
from faceswap_vfx.errors import NonFiniteError
from faceswap_vfx.io.colour import convert
from faceswap_vfx.io.image import Image, ImagePart
from faceswap_vfx.render.memory import zeros_for_sparse_writes

MASK_CHANNEL = "faceswap.mask"
HALF_MAX = 65504.0

Generate = Callable[[torch.Tensor], torch.Tensor]
"""``generate(crops) -> faces``: (B, 3, r, r) working-space crops in [0, 1] -> the same
shape, the chosen identity's faces (encoder + that identity's decoder)."""


@dataclass
class Face:
    """One face to replace: (68, 2) landmarks and the 3x3 ``plate_from_crop``, in display
    window pixels (see the alignment file), and the crop size r."""

    landmarks: np.ndarray
    plate_from_crop: np.ndarray
    crop_size: int


@dataclass
class FaceJob:
    """One face in flight, in data-window array pixels.

    ``roi``: where it is worked on; ``roi_from_crop`` 3x3; ``landmarks_roi`` (68, 2);
    ``crop``: (1, 3, r, r) network input; ``generated``: (1, 3, r, r) network output
    (both working space, [0, 1]); ``warped``/``cover``: the generated face in the ROI, in
    the blend colour space, and where the crop covers it. ``plate``: (1, 3, h, w) float32
    CPU, the plate's RGB over the ROI as cropped (plate colour space, finite), which the
    blend reuses rather than reading the plate again.
    """

    roi: Roi
    roi_from_crop: np.ndarray
    landmarks_roi: np.ndarray
    crop: torch.Tensor
    plate: torch.Tensor | None = None
    generated: torch.Tensor | None = None
    warped: torch.Tensor | None = None
    cover: torch.Tensor | None = None


def _data_from_display(part: ImagePart) -> np.ndarray:
    dx = part.display_window.x - part.data_window.x
    dy = part.display_window.y - part.data_window.y
    return np.array([[1.0, 0.0, dx], [0.0, 1.0, dy], [0.0, 0.0, 1.0]])


def finite_rgb(rgb: np.ndarray, copy: bool = True) -> np.ndarray:
    """NaN -> 0 and +-Inf -> +-65504 (half's largest), so pyramids stay finite; in place
    (``copy=False``) in a float array of the caller's own."""
    if np.isfinite(rgb).all():  # the usual plate: one cheap pass instead of four
        return rgb.copy() if copy else rgb
    return np.nan_to_num(rgb, copy=copy, nan=0.0, posinf=HALF_MAX, neginf=-HALF_MAX)


def to_tensor(rgb: np.ndarray, device: torch.device | str) -> torch.Tensor:
    """(H, W, C) numpy -> (1, C, H, W) float32 on ``device``; on the CPU a view of float32
    ``rgb`` (no copy, whatever its layout: a planar array stays planar)."""
    rgb = np.asarray(rgb, np.float32)
    if any(step < 0 for step in rgb.strides):  # torch cannot view those
        rgb = np.ascontiguousarray(rgb)
    return torch.from_numpy(rgb).permute(2, 0, 1)[None].to(device)


_FLOATS = (np.dtype(np.float16), np.dtype(np.float32))


def plate_roi(part: ImagePart, roi: Roi) -> torch.Tensor:
    """(1, 3, h, w) float32 CPU, planar: R, G, B of ``part`` over ``roi``, made finite
    (:func:`finite_rgb`)."""
    planes = [part.channel(name)[roi.slices] for name in ("R", "G", "B")]
    if all(p.dtype in _FLOATS for p in planes):  # torch casts half ~5x faster than numpy
        rgb = torch.empty((3, *roi.size), dtype=torch.float32)
        for plane, src in zip(rgb, planes, strict=True):
            plane.copy_(torch.from_numpy(src))
        rgb = rgb.numpy()
    else:  # 8/16-bit integer or 64-bit float channels: the image's own conversion
        rgb = part.rgb(region=roi.slices, planar=True)
    return torch.from_numpy(finite_rgb(rgb, copy=False))[None]


def to_numpy(t: torch.Tensor) -> np.ndarray:
    """(1, C, H, W) -> (H, W, C) float32 numpy."""
    return t[0].permute(1, 2, 0).float().cpu().numpy()


def crop_faces(image: Image, faces: Sequence[Face], params: dict[str, Any],
               device: torch.device | str = "cpu") -> list[FaceJob]:
    """Stage 1: the aligned crop of each face on the plate, in the working colour space.
    Faces entirely off the data window are dropped."""
    part = image.part
    h, w = part.shape
    data_from_display = _data_from_display(part)
    jobs = []
    for face in faces:
        plate_from_crop = data_from_display @ face.plate_from_crop
        roi = face_roi(plate_from_crop, face.crop_size, (h, w),
                       roi_pad(params["edge_feather"], params["mask_grow"]))
        if roi.empty:
            continue
        roi_from_crop = roi.from_plate() @ plate_from_crop
        plate = plate_roi(part, roi)
        crop = warp_affine(plate, invert(roi_from_crop), (face.crop_size,) * 2,
                           padding="border")
        crop_np = convert(to_numpy(crop), params["plate_colorspace"],
                          params["working_colorspace"], params["ocio_config"])
        jobs.append(FaceJob(roi, roi_from_crop,
                            apply(roi.from_plate() @ data_from_display, face.landmarks),
                            to_tensor(np.clip(crop_np, 0.0, 1.0), device), plate=plate))
    return jobs


def generate_faces(jobs: Sequence[FaceJob], generate: Generate, frame: int | None = None
                   ) -> None:
    """Stage 2: run the network on every crop of the frame in one batch; a face that is not
    finite everywhere raises :class:`NonFiniteError` (``clamp`` would keep its NaN)."""
    if not jobs:
        return
    sizes = {tuple(j.crop.shape) for j in jobs}
    groups = [[j for j in jobs if tuple(j.crop.shape) == s] for s in sizes]
    for group in groups:
        out = generate(torch.cat([j.crop for j in group])).float()
        if not bool(torch.isfinite(out).all()):
            raise NonFiniteError("the network generated a face with NaN or infinite pixels; "
                                 "the frame is not written", frame=frame)
        out = out.clamp(0.0, 1.0)
        for j, face in zip(group, out, strict=True):
            j.generated = face[None]


def inverse_warp(jobs: Sequence[FaceJob], params: dict[str, Any],
                 device: torch.device | str = "cpu") -> None:
    """Stage 3: each generated face in its ROI, in the blend colour space."""
    for j in jobs:
        gen = convert(to_numpy(j.generated), params["working_colorspace"],
                      params["blend_colorspace"], params["ocio_config"])
        j.warped, j.cover = warp_face(to_tensor(gen, device), j.roi_from_crop, j.roi.size)


def blend_faces(image: Image, jobs: Sequence[FaceJob], params: dict[str, Any],
                matte: np.ndarray | None = None, device: torch.device | str = "cpu",
                blend: Blend = multiband_blend) -> int:
    """Stage 4: the multi-band blend of each face into the plate (in place), the
    ``faceswap.mask`` channel, and ``A`` when ``output_alpha``. matte: optional (H, W)
    over the data window. blend: the multi-band blend's implementation
    (:data:`~faceswap_vfx.core.composite.Blend`; the preview may pass its GLSL one).
    Returns how many faces changed pixels (0 when every face lies outside the data window
    or under a zero matte)."""
    part = image.part
    alphas = []
    cs_plate, cs_blend = params["plate_colorspace"], params["blend_colorspace"]
    for j in jobs:
        plate = j.plate  # as cropped, unless an earlier face's blend changed its pixels
        if plate is None or any(_overlap(j.roi, slices) for slices, _ in alphas):
            plate = plate_roi(part, j.roi)
        target = convert(to_numpy(plate), cs_plate, cs_blend, params["ocio_config"],
                         copy=False)
        out, alpha = blend_roi(
            to_tensor(target, device), j.warped, j.cover, j.landmarks_roi,
            plate_levels=params["plate_levels"], mask_sigma=params["mask_sigma"],
            mask_grow=params["mask_grow"], edge_feather=params["edge_feather"],
            matte=None if matte is None else matte[j.roi.slices],
            matte_mode=params["matte_mode"], blend=blend)
        a = alpha[0, 0].cpu().numpy()
        inside = a > 0
        box = bounding_box(inside)  # the pixels the face may change, and nothing else
        if box is None:
            continue
        rows, cols = box
        slices = (slice(j.roi.y0 + rows.start, j.roi.y0 + rows.stop),
                  slice(j.roi.x0 + cols.start, j.roi.x0 + cols.stop))
        out_rgb = convert(to_numpy(out)[box], cs_blend, cs_plate, params["ocio_config"],
                          copy=False)
        write_rgb(part, slices, out_rgb, inside[box])
        alphas.append((slices, a[box]))
    part.channels[MASK_CHANNEL] = _union(alphas, part.shape, np.float16)
    if params["output_alpha"]:
        dtype = part.channels["A"].dtype if "A" in part.channels else np.dtype(np.float32)
        part.channels["A"] = _union(alphas, part.shape, dtype)
    return len(alphas)


def _overlap(roi: Roi, slices: tuple[slice, slice]) -> bool:
    rows, cols = slices
    return (roi.y0 < rows.stop and rows.start < roi.y1
            and roi.x0 < cols.stop and cols.start < roi.x1)


def _union(alphas: list[tuple[tuple[slice, slice], np.ndarray]], shape: tuple[int, int],
           dtype: np.dtype) -> np.ndarray:
    """(H, W) of ``dtype``: the largest of the ROI alphas at each pixel, 0 elsewhere;
    8/16-bit integer channels get [0, 1] scaled to their full range, as :func:`write_rgb`."""
    out = zeros_for_sparse_writes(shape, dtype)
    for slices, a in alphas:
        if out.dtype.kind == "u":
            top = np.iinfo(out.dtype).max
            np.maximum(out[slices], np.round(np.clip(a, 0.0, 1.0) * top), out=out[slices],
                       casting="unsafe")
        else:  # torch converts to half several times faster than numpy
            region = torch.from_numpy(out)[slices]
            torch.maximum(region, torch.from_numpy(a).to(region.dtype), out=region)
    return out


def swap_frame(image: Image, faces: Sequence[Face], generate: Generate,
               params: dict[str, Any], *, device: torch.device | str = "cpu",
               matte: np.ndarray | None = None) -> list[FaceJob]:
    """All four stages on one frame, in place; returns the faces done."""
    jobs = crop_faces(image, faces, params, device)
    generate_faces(jobs, generate)
    inverse_warp(jobs, params, device)
    blend_faces(image, jobs, params, matte, device)
    return jobs


def write_rgb(part: ImagePart, slices: tuple[slice, slice], rgb: np.ndarray,
              where: np.ndarray) -> None:
    """Write float ``rgb`` (h, w, 3) into R, G, B of ``part`` at ``slices`` only where
    ``where`` is true, in each channel's own pixel type (8/16-bit: [0, 1] scaled)."""
    inside = None
    for i, name in enumerate(("R", "G", "B")):
        channel = part.channels[name]
        values = rgb[..., i]
        if channel.dtype in _FLOATS:  # torch: its half casts are several times faster
            if inside is None:
                inside = torch.from_numpy(np.asarray(where, bool))
            region = torch.from_numpy(channel)[slices]
            torch.where(inside, torch.from_numpy(values).to(region.dtype), region, out=region)
            continue
        if channel.dtype.kind == "u" and channel.dtype.itemsize <= 2:
            top = np.iinfo(channel.dtype).max
            values = np.round(np.clip(np.nan_to_num(values), 0.0, 1.0) * top)
        elif channel.dtype.kind == "u":  # EXR uint: the values themselves, to the nearest
            top = np.iinfo(channel.dtype).max
            values = np.round(np.clip(np.nan_to_num(values.astype(np.float64)), 0.0, top))
        np.copyto(channel[slices], values, casting="unsafe", where=where)
