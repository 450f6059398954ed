"""Shared pytest fixtures: the bundled public-domain portraits and small synthetic plates.

Images are kept small so dlib's HOG detector stays fast on two shared CPU cores.
"""

from __future__ import annotations

import numpy as np
import pytest

from faceswap_vfx.samples import plates, portraits


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """(512, 512, 3) float32 sRGB-encoded [0, 1] (skimage.data.astronaut)."""
    return portraits.astronaut()


@pytest.fixture(scope="session")
def grace_hopper() -> np.ndarray:
    """(600, 512, 3) float32 sRGB-encoded [0, 1] (matplotlib sample data)."""
    pytest.importorskip("matplotlib")
    return portraits.grace_hopper()


@pytest.fixture(scope="session")
def astronaut_u8(astronaut: np.ndarray) -> np.ndarray:
    """The astronaut as the detector sees it: (512, 512, 3) uint8."""
    return plates.to_uint8(astronaut)


@pytest.fixture(scope="session")
def astronaut_face(astronaut: np.ndarray) -> np.ndarray:
    """(256, 256, 3) float32 sRGB: the astronaut's head (face about 90 px), for quick
    synthetic plates."""
    return np.ascontiguousarray(astronaut[40:296, 100:356])


@pytest.fixture(scope="session")
def face_plate(tmp_path_factory, astronaut_face):
    """A scene-linear half EXR plate, frames 1001-1008, 400x320 display window with the
    data window inset (8, 4) px: the astronaut's head (face ~90 px) drifting (3, 1)
    px/frame; frame 1005 has no face. Returns (pattern, truth): truth[frame] is the (3, 3)
    ``plate_from_portrait`` in display-window px, portrait = ``astronaut_face``."""
    from faceswap_vfx.io.colour import convert
    from faceswap_vfx.io.image import Box, Image, write_image

    folder = tmp_path_factory.mktemp("face_plate")
    frames = list(range(1001, 1009))
    motion = plates.linear_motion(astronaut_face.shape[:2], (180, 160), velocity=(3, 1))
    encoded, truth = plates.synth_sequence(astronaut_face, len(frames), (320, 400), motion,
                                           noise=0.002, seed=7)
    encoded[4] = np.full_like(encoded[4], encoded[4][0, 0])
    dx, dy = 8, 4
    for frame, pixels in zip(frames, encoded, strict=True):
        linear = convert(pixels, "srgb_tx", "scene_linear")[dy:320 - dy, dx:400 - dx]
        image = Image.from_array(linear, dtype=np.float16)
        image.part.data_window = Box(dx, dy, 400 - 2 * dx, 320 - 2 * dy)
        image.part.display_window = Box(0, 0, 400, 320)
        write_image(image, folder / f"plate.{frame}.exr", frame)
    return str(folder / "plate.####.exr"), dict(zip(frames, truth, strict=True))


@pytest.fixture(scope="session")
def shot(tmp_path_factory, face_plate):
    """A shot of ``face_plate`` to render: plates with A, Z and an AOV layer plus metadata;
    an alignment file; a tiny untrained comb network exported as ``grace``. A dict of
    ``root``, ``plates``, ``align``, ``model``."""
    import json

    import torch

    from faceswap_vfx.face.align_file import save_alignment
    from faceswap_vfx.face.pipeline import align_sequence
    from faceswap_vfx.io.atomic import atomic_write_text
    from faceswap_vfx.io.image import read_image, write_image
    from faceswap_vfx.io.sequence import ImageSequence
    from faceswap_vfx.model.comb import CombNetwork
    from faceswap_vfx.model.config import CombConfig
    from faceswap_vfx.model.export import export_torchscript, sidecar

    pattern, _ = face_plate
    root = tmp_path_factory.mktemp("shot")
    seq = ImageSequence.find(pattern)
    for frame in seq.frames:
        image = read_image(seq.path(frame), frame)
        part = image.part
        h, w = part.shape
        part.channels["A"] = np.ones((h, w), np.float16)
        part.channels["Z"] = np.linspace(1, 1e4, h * w, dtype=np.float32).reshape(h, w)
        part.channels["spec.r"] = np.full((h, w), 0.25, np.float16)
        part.set_attribute("camera:focal", "float", 35.0)
        part.set_attribute("compression", "string", "zip")
        write_image(image, root / "plates" / f"plate.{frame}.exr", frame)
    plates = str(root / "plates" / "plate.####.exr")
    alignment = align_sequence(ImageSequence.find(plates), {"crop_size": 64, "max_gap": 0})
    save_alignment(alignment, root / "shot.align.json")
    torch.manual_seed(0)
    net = CombNetwork(CombConfig(max_resolution=16, width=1 / 32, latent=16, split_level=0),
                      ["astronaut", "grace"], level=2)
    export_torchscript(net, "grace").save(str(root / "grace.pt"))
    atomic_write_text(root / "grace.json",
                      json.dumps(sidecar(net, "grace", 2, "srgb_tx")))
    return {"root": root, "plates": plates, "align": str(root / "shot.align.json"),
            "model": str(root / "grace.pt")}
