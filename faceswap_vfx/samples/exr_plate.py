"""A sample scene-linear EXR plate sequence written to disk, with its ground truth.

The portrait moves with known similarity motion (:mod:`faceswap_vfx.samples.plates`); the
frames are converted to the plate's scene-linear colour space through OCIO and written as
half-float EXR with the extra channels and header a real plate has: ``A``, a float ``Z``, a
``mask.r`` layer, a data window inside the display window, a frame rate and camera metadata.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from faceswap_vfx.io.atomic import atomic_write_text
from faceswap_vfx.io.colour import convert
from faceswap_vfx.io.image import Box, Image, write_image
from faceswap_vfx.io.sequence import FramePattern
from faceswap_vfx.samples.plates import synth_sequence
from faceswap_vfx.samples.portraits import portrait as load_portrait

INSET = (8, 4)  # data window inset from the display window, (x, y) px


def write_sample_plate(out: str | Path, frames: list[int], plate_size: tuple[int, int] = (288, 512),
                       *, portrait: str = "astronaut", motion: str = "drift",
                       plate_colorspace: str = "scene_linear", noise: float = 0.002,
                       ) -> str:
    """Write ``plate.####.exr`` for ``frames`` into ``out`` and ``truth.json`` beside it
    (per frame, the 3x3 ``plate_from_portrait`` in display-window pixels). Returns the
    pattern. ``plate_size`` is (height, width) of the display window."""
    out = Path(out)
    face = load_portrait(portrait)
    scale = 0.8 * min(plate_size) / max(face.shape[:2])
    encoded, truth = synth_sequence(face, len(frames), plate_size, motion, scale=scale,
                                    noise=noise, seed=frames[0])
    pattern = FramePattern.parse(out / "plate.####.exr")
    h, w = plate_size
    dx, dy = INSET
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    depth = (10.0 + 0.01 * xx + 0.02 * yy)[dy:h - dy, dx:w - dx]
    for frame, pixels in zip(frames, encoded, strict=True):
        linear = convert(pixels, "srgb_tx", plate_colorspace)[dy:h - dy, dx:w - dx]
        image = Image.from_array(linear, dtype=np.float16, attributes={
            "framesPerSecond": (24, 1), "Copyright": "faceswap_vfx sample plate",
            "faceswap:sample_portrait": portrait, "faceswap:frame": frame,
            "compression": "zip"})
        part = image.part
        part.set_attribute("framesPerSecond", "rational2i", (24, 1))
        part.channels["A"] = np.ones_like(part.channels["R"])
        part.channels["Z"] = depth.astype(np.float32)
        part.channels["mask.r"] = (linear[..., 1] > 0.5).astype(np.float16)
        part.data_window = Box(dx, dy, w - 2 * dx, h - 2 * dy)
        part.display_window = Box(0, 0, w, h)
        write_image(image, pattern.path(frame), frame)
    atomic_write_text(out / "truth.json", json.dumps({
        "pattern": "plate.####.exr",
        "portrait": portrait, "motion": motion, "plate_colorspace": plate_colorspace,
        "plate_from_portrait": {str(f): np.asarray(m).tolist() for f, m in
                                zip(frames, truth, strict=True)},
    }, indent=1))
    return str(out / "plate.####.exr")
