"""A synthetic shot for the render benches (``render_profile.py``, ``render_throughput.py``):
EXR plates, an alignment file and an exported comb network, all made on the spot.

Timing does not depend on what the face looks like, so the network is untrained and the
face is placed by the alignment file (as ``faceswap-vfx align`` would have written it);
the plates hold what makes EXR codecs work as on a real plate: smooth HDR light with 1 %
grain, in half, plus extra channels.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from faceswap_vfx.core.geometry import apply, crop_from_template
from faceswap_vfx.core.template import TEMPLATE_68
from faceswap_vfx.face.align_file import Alignment, FaceEntry, load_alignment, save_alignment
from faceswap_vfx.face.track import DETECTED
from faceswap_vfx.io.atomic import atomic_write_text
from faceswap_vfx.io.image import Image, write_image
from faceswap_vfx.model.comb import CombNetwork
from faceswap_vfx.model.config import CombConfig
from faceswap_vfx.model.export import export_torchscript, sidecar

EXTRA = ("A", "Z", "diffuse.R", "diffuse.G", "diffuse.B")
"""The plates' channels besides R, G, B (Z in float, the others half)."""


def write_plates(folder: Path, frames: list[int], size: tuple[int, int],
                 compression: str = "zip") -> str:
    """Half EXR frames of ``size`` (h, w): R, G, B and :data:`EXTRA`. Returns the pattern."""
    h, w = size
    rng = np.random.default_rng(0)
    light = (np.linspace(0.05, 3.0, w, dtype=np.float32)[None, :]
             * np.linspace(0.6, 1.0, h, dtype=np.float32)[:, None])
    depth = np.linspace(1.0, 1e3, h * w, dtype=np.float32).reshape(h, w)
    for frame in frames:
        grain = 1.0 + 0.01 * rng.standard_normal((h, w, 3), np.float32)
        rgb = light[..., None] * grain * np.array([1.0, 0.9, 0.8], np.float32)
        names = ("R", "G", "B", *EXTRA)
        pixels = np.concatenate([rgb, np.ones((h, w, 1), np.float32), depth[..., None],
                                 0.8 * rgb], -1)
        image = Image.from_array(pixels, names, dtype=np.float16)
        image.part.channels["Z"] = depth
        image.part.set_attribute("compression", "string", compression)
        write_image(image, folder / f"plate.{frame}.exr", frame)
    return str(folder / "plate.####.exr")


def write_alignment(path: Path, pattern: str, frames: list[int], size: tuple[int, int],
                    face_px: float, crop_size: int = 256, margin: float = 0.35) -> Alignment:
    """One face ``face_px`` plate px wide (its aligned crop), drifting 2 px a frame across
    the middle of the plate; saved to ``path`` and read back, as a render reads it."""
    h, w = size
    alignment = Alignment(pattern, (w, h), list(frames), crop_size, margin)
    s = face_px / crop_size
    for i, frame in enumerate(frames):
        plate_from_crop = np.array([[s, 0.0, 0.0], [0.0, s, 0.0], [0.0, 0.0, 1.0]])
        plate_from_crop[:2, 2] = (w / 2 + 2 * i - face_px / 2, h / 2 - face_px / 2)
        landmarks = apply(plate_from_crop @ crop_from_template(crop_size, margin), TEMPLATE_68)
        alignment.faces[frame] = [FaceEntry(0, DETECTED, landmarks, plate_from_crop, 1.0)]
    save_alignment(alignment, path)
    return load_alignment(path)


def write_model(folder: Path, resolution: int = 256, width: float = 0.25) -> Path:
    """An exported (TorchScript) comb network of two identities, ``b`` exported."""
    torch.manual_seed(0)
    config = CombConfig(max_resolution=resolution, width=width)
    net = CombNetwork(config, ["a", "b"], level=config.max_level)
    path = folder / f"comb_{resolution}_{width:g}.pt"
    export_torchscript(net, "b").save(str(path))
    atomic_write_text(path.with_suffix(".json"),
                      json.dumps(sidecar(net, "b", config.max_level, "srgb_tx")))
    return path
