"""The panel's preview of one frame, computed in the preview worker process only.

The frame swap runs in the stages of :mod:`faceswap_vfx.render.frame`. The generated faces
of a frame are cached: a change to a parameter that only the inverse warp and the blend
read (:data:`BLEND_STAGE`, taken from the render nodes' declarations) re-crops (cheap),
warps and blends again without the network. Everything the preview shows is display-
referred 8-bit, reduced to at most ``max_side`` pixels for the view.

The blend runs on the GPU, the GLSL passes of the MultiBandBlend gizmo
(:mod:`faceswap_vfx.ui.gl_blend`), when a headless GL context can be made, else in Python
(:func:`faceswap_vfx.core.blend.multiband_blend`); both give the same image within float32
rounding. :attr:`Preview.blend` says which ran.

This module imports torch (through render/): the UI thread never imports it.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import os
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from faceswap_vfx import params as schema
from faceswap_vfx.core.blend import blend_levels, multiband_blend
from faceswap_vfx.core.composite import Blend
from faceswap_vfx.core.pyramid import laplacian_pyramid, pyr_up
from faceswap_vfx.errors import ParameterError
from faceswap_vfx.face.align_file import Alignment, load_alignment
from faceswap_vfx.io.colour import convert, display_uint8
from faceswap_vfx.io.image import Image, ImagePart, read_image
from faceswap_vfx.io.sequence import ImageSequence
from faceswap_vfx.render.frame import MASK_CHANNEL, FaceJob, crop_faces, generate_faces
from faceswap_vfx.render.model_source import SwapModel, load_swap_model, resolve_device
from faceswap_vfx.render.nodes import Align, InverseWarp, MultiBandBlend

log = logging.getLogger(__name__)

BLEND_STAGE = frozenset(InverseWarp.params + MultiBandBlend.params)
"""Parameters only the inverse warp and the blend read: the generated faces stay valid."""


@dataclass
class Preview:
    """One frame's preview. Images are uint8, display-referred: ``plate`` and ``swap``
    (h, w, 3), ``mask`` (h, w) the final alpha, ``band`` (h, w, 3) or None: pyramid band
    ``level`` of the swap around the largest face, mid-grey elsewhere (1: the coarsest of
    ``levels``, the blend's pyramid depth there; 0 without a face). ``band_source`` says
    whether the blend takes that band from the plate or from the face. ``network``: the
    faces were generated now, not taken from the cache. ``blend``: which multi-band blend
    ran, ``"gl"`` or ``"python"`` (empty when none ran)."""

    frame: int
    frames: list[int]
    plate: np.ndarray
    swap: np.ndarray
    mask: np.ndarray
    band: np.ndarray | None = None
    level: int = 0
    levels: int = 0
    band_source: str = ""
    faces: int = 0
    network: bool = False
    blend: str = ""
    notes: list[str] = field(default_factory=list)


def _mtime(path: str | Path) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return 0


def _in_display(part: ImagePart, data: np.ndarray, fill: float) -> np.ndarray:
    """(H, W, ...) over the data window -> the display window, ``fill`` where uncovered."""
    dw, fw = part.data_window, part.display_window
    out = np.full((fw.height, fw.width, *data.shape[2:]), fill, data.dtype)
    x0, y0 = max(dw.x, fw.x), max(dw.y, fw.y)
    x1, y1 = min(dw.x + dw.width, fw.x + fw.width), min(dw.y + dw.height, fw.y + fw.height)
    if x1 > x0 and y1 > y0:
        out[y0 - fw.y:y1 - fw.y, x0 - fw.x:x1 - fw.x] = \
            data[y0 - dw.y:y1 - dw.y, x0 - dw.x:x1 - dw.x]
    return out


def _largest(jobs: list[FaceJob]) -> FaceJob:
    return max(jobs, key=lambda j: j.roi.size[0] * j.roi.size[1])


def reduce(image: np.ndarray, max_side: int) -> np.ndarray:
    """Area-average a uint8 (H, W[, C]) image by the smallest whole factor that brings its
    longer side to ``max_side`` or below."""
    h, w = image.shape[:2]
    f = max(1, math.ceil(max(h, w) / max(1, max_side)))
    if f == 1:
        return image
    h2, w2 = h // f, w // f
    blocks = image[:h2 * f, :w2 * f].astype(np.float32)
    blocks = blocks.reshape(h2, f, w2, f, *image.shape[2:]).mean(axis=(1, 3))
    return np.round(blocks).astype(np.uint8)


class PreviewEngine:
    """Previews of a shot's frames, with caches for plates, the model, the alignment and
    the generated faces. Not thread-safe: one worker, one engine."""

    def __init__(self, cached_frames: int = 32):
        self.cached_frames = cached_frames
        self._sequences: dict[str, ImageSequence] = {}
        self._plates: OrderedDict[tuple, Image] = OrderedDict()
        self._model: tuple[tuple, SwapModel] | None = None
        self._alignment: tuple[tuple, Alignment] | None = None
        self._detected: OrderedDict[tuple, Alignment] = OrderedDict()
        self._generated: OrderedDict[tuple, list[torch.Tensor | None]] = OrderedDict()
        self._blend: tuple[str, Blend] | None = None
        self.network_runs = 0
        """How many times the network ran (for tests and the log)."""

    # --- the preview --------------------------------------------------------------------
    def render(self, values: dict[str, Any], inputs: dict[str, Any], frame: int | None = None,
               level: int = 0, max_side: int = 1280) -> Preview:
        """The preview of ``frame`` (the first frame when None or not on disk) at the
        parameter ``values`` (missing ones: defaults) for the shot ``inputs`` (``plates``,
        ``align``). Raises FaceswapError subclasses with readable messages."""
        params = schema.resolve(values)
        plates = str(inputs.get("plates") or "")
        if not plates:
            raise ParameterError("the shot has no plates: set its plate sequence")
        seq = self.sequence(plates)
        frame = frame if frame in seq.frames else seq.frames[0]
        image = self._plate(seq, frame)
        notes: list[str] = []
        jobs: list[FaceJob] = []
        network = False
        blend_name = ""
        if not params["model"] or not params["identity"]:
            notes.append("no model or identity (render parameters): showing the plate")
            plate_view = swap_view = self._view(image.part, params)
            mask = np.zeros(plate_view.shape[:2], np.uint8)
        else:
            model = self._swap_model(params)
            device = resolve_device(params["device"])
            params["working_colorspace"] = model.colorspace  # as the render does
            plate_view = self._view(image.part, params)
            align = str(inputs.get("align") or "")
            faces = self._faces(seq, frame, params, align, model, image, notes)
            source = (plates, self._alignment[0] if align and self._alignment else None)
            jobs, network = self._jobs(image, faces, (source, frame), params, model, device)
            InverseWarp(device).run({"jobs": jobs}, params)
            matte = ImageSequence.find(params["matte"]) if params["matte"] else None
            blend_name, blend = self.blend()
            MultiBandBlend(device, matte, blend).run({"frame": frame, "image": image,
                                                      "warped": jobs}, params)
            swap_view = self._view(image.part, params)
            alpha = _in_display(image.part, image.part.channels[MASK_CHANNEL]
                                .astype(np.float32), 0.0)
            mask = np.round(np.clip(alpha, 0.0, 1.0) * 255).astype(np.uint8)
            if not faces:
                notes.append(f"no face tracked on frame {frame}: the plate is kept")
        preview = Preview(frame, list(seq.frames), reduce(plate_view, max_side),
                          reduce(swap_view, max_side), reduce(mask, max_side),
                          faces=len(jobs), network=network, notes=notes,
                          blend=blend_name if jobs else "")
        if jobs:
            preview.levels = blend_levels(*_largest(jobs).roi.size)
            if level > 0:
                self._band(preview, image.part, jobs, params, level, max_side)
        return preview

    def blend(self) -> tuple[str, Blend]:
        """The multi-band blend the preview uses, ``("gl", blend)`` or ``("python", blend)``:
        the GLSL one when a headless GL context can be made (tried once), else core's."""
        if self._blend is None:
            from faceswap_vfx.ui.gl_blend import NoGLContext, gl_blend

            try:
                gl = gl_blend()
            except NoGLContext as exc:
                log.info("preview blend: Python (%s)", exc)
                self._blend = ("python", multiband_blend)
            else:
                log.info("preview blend: GL (%s)", gl.ctx.info.get("GL_RENDERER", "?"))
                self._blend = ("gl", gl.multiband_blend)
        return self._blend

    # --- caches -------------------------------------------------------------------------
    def sequence(self, pattern: str) -> ImageSequence:
        """The plate sequence on disk (looked up once per pattern)."""
        key = str(Path(pattern).resolve()) if "#" in pattern or "%" in pattern else pattern
        if key not in self._sequences:
            self._sequences[key] = ImageSequence.find(pattern)
        return self._sequences[key]

    def _remember(self, cache: OrderedDict, key: tuple, value: Any) -> None:
        cache[key] = value
        while len(cache) > self.cached_frames:
            cache.popitem(last=False)

    def _plate(self, seq: ImageSequence, frame: int) -> Image:
        path = seq.path(frame)
        key = (str(path.resolve()), _mtime(path))
        if key not in self._plates:
            self._remember(self._plates, key, read_image(path, frame))
        self._plates.move_to_end(key)
        return copy.deepcopy(self._plates[key])

    def _swap_model(self, params: dict[str, Any]) -> SwapModel:
        """The network as ``faceswap-vfx render`` loads it for these parameters."""
        path, direction = Path(params["model"]), params["expression_direction"]
        key = (str(path.resolve()), _mtime(path), params["identity"], params["device"],
               str(direction), _mtime(direction) if direction else 0,
               params["expression_strength"])
        if self._model is None or self._model[0] != key:
            self._model = None
            self._generated.clear()
            model = load_swap_model(path, params["identity"], resolve_device(params["device"]),
                                    expression_direction=direction,
                                    expression_strength=params["expression_strength"])
            self._model = (key, model)
            log.info("preview model %s (%s, %d px)", path, params["identity"], model.resolution)
        return self._model[1]

    def _faces(self, seq: ImageSequence, frame: int, params: dict[str, Any], align: str,
               model: SwapModel, image: Image, notes: list[str]) -> list:
        if align:
            key = (str(Path(align).resolve()), _mtime(align))
            if self._alignment is None or self._alignment[0] != key:
                self._alignment = (key, load_alignment(align))
            alignment = self._alignment[1]
            fw = image.part.display_window
            alignment.check_plate((fw.width, fw.height), align)
        else:
            notes.append("no alignment file: faces detected on this frame alone")
            alignment = self._detect(seq, frame, params)
        return Align(alignment, params["track"], model.resolution).run({"frame": frame},
                                                                        params)["faces"]

    def _detect(self, seq: ImageSequence, frame: int, params: dict[str, Any]) -> Alignment:
        from faceswap_vfx.face.pipeline import align_sequence  # dlib: only when asked

        faces_params = {k: v for k, v in params.items()
                        if schema.PARAMS[k].group in ("colour", "faces")}
        key = (str(seq.path(frame)), frame, json.dumps(faces_params, sort_keys=True))
        if key not in self._detected:
            one = ImageSequence(seq.pattern, [frame])
            self._remember(self._detected, key, align_sequence(one, faces_params))
        return self._detected[key]

    def _jobs(self, image: Image, faces: list, where: tuple, params: dict[str, Any],
              model: SwapModel, device: torch.device) -> tuple[list[FaceJob], bool]:
        """Crop every face; generated faces from the cache (``where``: the frame and the
        files it came from), the network for the rest."""
        stage = {k: v for k, v in params.items() if k not in BLEND_STAGE}
        key = (where, json.dumps(stage, sort_keys=True))
        per_face = [crop_faces(image, [face], params, device) for face in faces]
        cached = self._generated.get(key) or [None] * len(per_face)
        for found, generated in zip(per_face, cached, strict=True):
            if found and generated is not None:
                found[0].generated = generated
        todo = [found[0] for found in per_face if found and found[0].generated is None]
        if todo:
            generate_faces(todo, model.generate)
            self.network_runs += 1
        self._remember(self._generated, key,
                       [found[0].generated if found else None for found in per_face])
        self._generated.move_to_end(key)
        return [found[0] for found in per_face if found], bool(todo)

    # --- views --------------------------------------------------------------------------
    @staticmethod
    def _view(part: ImagePart, params: dict[str, Any]) -> np.ndarray:
        """The display window through the working (display) encoding, uint8 (H, W, 3)."""
        return display_uint8(part.display_rgb(), params["plate_colorspace"],
                             params["working_colorspace"], params["ocio_config"])

    @staticmethod
    def _band(preview: Preview, part: ImagePart, jobs: list[FaceJob], params: dict[str, Any],
              level: int, max_side: int) -> None:
        """Band ``level`` (1: coarsest) of the swap's Laplacian pyramid over the largest
        face's ROI, with as many levels as the blend used there."""
        job = _largest(jobs)
        h, w = job.roi.size
        cs_plate, cs_blend = params["plate_colorspace"], params["blend_colorspace"]
        rgb = convert(np.nan_to_num(part.rgb()[job.roi.slices]), cs_plate, cs_blend,
                      params["ocio_config"])
        t = torch.from_numpy(rgb).permute(2, 0, 1)[None]
        n = blend_levels(h, w)
        level = min(level, n)
        pyramid = laplacian_pyramid(t, n)
        band = pyr_up(pyramid[n - level], (h, w))[0].permute(1, 2, 0).numpy()
        if level == 1:  # the Gaussian residual: an image, shown as one
            shown = display_uint8(band, cs_blend, params["working_colorspace"],
                                  params["ocio_config"])
        else:  # a band-pass level: 0 is mid-grey, scaled to its own range
            scale = float(np.percentile(np.abs(band), 99.5)) + 1e-6
            shown = np.round(np.clip(0.5 + 0.5 * band / scale, 0, 1) * 255).astype(np.uint8)
        canvas = np.full((*part.shape, 3), 128, np.uint8)
        canvas[job.roi.slices] = shown
        preview.band = reduce(_in_display(part, canvas, 128), max_side)
        preview.level = level
        preview.band_source = "plate" if level <= params["plate_levels"] else "face"
