"""The inputs of ``faceswap-vfx eval --demo``: everything an evaluation needs, made from the
bundled portraits for the shipped demo model, each stand-in said for what it is.

Written under ``OUT/demo_data`` (kept, and reused when run again):

* ``datasets/<identity>``: each portrait as a 256 px dataset (what the model learnt);
* ``heldout/<identity>``: 12 mild random jitters of it, standing in for held-out crops;
* ``train_like/<identity>``: 24 draws of the run's own heavy augmentation plus the photo,
  standing in for the training images the nearest-neighbour search looks through;
* ``frown/``, ``smile/``: 12 jitters of each portrait with the mouth corners warped down
  and up, the two groups of the demo's expression direction (``smile.direction.json``);
* ``outside/cameraman``: scikit-image's cameraman, a person the model never saw (his crop
  and a mirrored, rotated copy: two anchors from one photo);
* ``render/``: the demo's plate and the swap rendered into it (``faceswap-vfx demo``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from faceswap_vfx.demo import HEAVY, IDENTITIES, SHIPPED_MODEL, portrait_dataset, run_demo
from faceswap_vfx.errors import FaceswapError
from faceswap_vfx.eval.data import load_crops
from faceswap_vfx.eval.evaluate import EvalSpec
from faceswap_vfx.eval.latent import expression_direction, save_direction
from faceswap_vfx.eval.network import load_network
from faceswap_vfx.eval.synthetic import jitter, masks_of, mouth_corners
from faceswap_vfx.io.image import Image, write_image
from faceswap_vfx.train.config import AugmentConfig
from faceswap_vfx.train.manifest import read_manifest, write_dataset

SIZE = 256
MILD = AugmentConfig()  # rotation +-3 deg, scale +-5 %, shift +-3 %, mirror, +-0.25 stop
SMILE = 0.12  # mouth-corner lift, fraction of the mouth width

NOTES = [
    "Demo data. The shipped model learnt one photo per identity (astronaut, grace_hopper) "
    "under heavy augmentation; no held-out photo of either exists. The 'held-out' crops are "
    "12 new random jitters of those same photos (rotation +-3 deg, scale +-5 %, shift +-3 %, "
    "mirror, exposure +-0.25 stop, colour +-3 %): in-distribution for the model, not unseen "
    "faces, so the reconstruction figures are optimistic.",
    "Nearest neighbours look through 24 random draws of the run's own augmentation (rotation "
    "+-10 deg, scale +-10 %, shift +-6 %, mirror, exposure +-0.5 stop, colour +-6 %) of each "
    "photo plus the photo itself, standing in for what the model saw in training.",
    "Out-of-sample person: scikit-image's cameraman (grey, three-quarter view), never seen "
    "by the model. One photo exists, so the two anchors are his crop and a mirrored, rotated "
    "copy: they differ in pose, not in expression.",
    f"Expression: no neutral/smiling photo pairs exist. The direction is the mean latent of "
    f"24 crops (12 jitters per identity) with the mouth corners warped up by {SMILE:.0%} of "
    f"the mouth width minus that of the same crops warped down: a geometric caricature of a "
    f"smile, not a learnt expression. It shows the mechanism (a render parameter) only.",
    "Temporal stability: the demo plate (24 frames of the astronaut drifting) with "
    "grace_hopper rendered in by the shipped model (faceswap-vfx demo).",
]


def _write(folder: Path, name: str, images: torch.Tensor, landmarks: np.ndarray,
           colorspace: str, label: str) -> Path:
    if not (folder / "manifest.json").is_file():
        masks = masks_of(landmarks, images.shape[-1])[:, 0].numpy()
        write_dataset(folder, name, images.permute(0, 2, 3, 1).numpy(), masks, landmarks,
                      colorspace, [{"synthetic": label, "index": i} for i in range(len(images))])
    return folder


def _cameraman(work: Path, say: Callable[[str], None]) -> Path | None:
    """The cameraman as a 256 px dataset (dlib's CNN detector finds his turned face)."""
    from skimage import data

    from faceswap_vfx.face.extract import extract_dataset

    folder = work / "datasets" / "cameraman"
    if not (folder / "manifest.json").is_file():
        photo = work / "photos" / "cameraman" / "cameraman.png"
        grey = data.camera().astype(np.float32) / 255.0
        write_image(Image.from_array(np.repeat(grey[..., None], 3, -1), dtype=np.uint8), photo)
        say("finding the cameraman's face (dlib CNN detector, ~20 s)")
        try:
            manifest = extract_dataset(photo.parent, folder, "cameraman", SIZE,
                                       {"detector": "cnn"})
        except FaceswapError as exc:
            say(f"no out-of-sample person: {exc}")
            return None
        if not manifest["items"]:
            say("no out-of-sample person: no face found on the cameraman")
            return None
    m = read_manifest(folder)
    crop = load_crops(folder, SIZE).images[0]
    turned, lms = jitter(crop, m.items[0].landmarks, 1,
                         AugmentConfig(rotate_deg=8.0, scale=0.0, shift=0.0, flip=1.0,
                                       exposure_stops=0.0, colour=0.0), seed=5)
    images = torch.cat([crop[None], turned])
    return _write(work / "outside" / "cameraman", "cameraman", images,
                  np.concatenate([m.items[0].landmarks[None], lms]), m.colorspace,
                  "photo, then mirrored and rotated")


def prepare_demo(out: Path, say: Callable[[str], None] = print) -> EvalSpec:
    """Make (or reuse) the demo's evaluation inputs under ``out/demo_data``; returns the
    spec that evaluates the shipped model on them into ``out``."""
    work = out / "demo_data"
    groups: dict[str, list[tuple[torch.Tensor, np.ndarray]]] = {"frown": [], "smile": []}
    data, train, space = [], [], "srgb_tx"
    for k, name in enumerate(IDENTITIES):
        folder = portrait_dataset(work, name, SIZE)
        m = read_manifest(folder)
        space = m.colorspace
        crop, lms = load_crops(folder, SIZE).images[0], m.items[0].landmarks
        ims, ls = jitter(crop, lms, 12, MILD, seed=100 + k)
        data.append((name, _write(work / "heldout" / name, name, ims, ls, space, "jitter")))
        ims, ls = jitter(crop, lms, 24, HEAVY, seed=200 + k)
        ims, ls = torch.cat([crop[None], ims]), np.concatenate([lms[None], ls])
        train.append((name, _write(work / "train_like" / name, name, ims, ls, space,
                                   "the photo, then the run's augmentation")))
        ims, ls = jitter(crop, lms, 12, MILD, seed=300 + k)
        groups["frown"].append((mouth_corners(ims, ls, -SMILE), ls))
        groups["smile"].append((mouth_corners(ims, ls, SMILE), ls))
    folders = {}
    for g, parts in groups.items():
        folders[g] = _write(work / g, g, torch.cat([p[0] for p in parts]),
                            np.concatenate([p[1] for p in parts]), space, f"mouth corners {g}")
    net = load_network(SHIPPED_MODEL)
    direction = expression_direction(
        net, load_crops(folders["frown"], net.resolution).images,
        load_crops(folders["smile"], net.resolution).images, "smile (synthetic)",
        {"run": str(SHIPPED_MODEL), "from": str(folders["frown"]), "to": str(folders["smile"]),
         "note": "mouth corners warped down (from) and up (to) on jitters of the portraits"})
    direction_file = save_direction(direction, out / "smile.direction.json")
    say(f"direction: {direction_file} (|d| = {float(direction.vector.norm()):.3f})")
    outside = _cameraman(work, say)
    render = work / "render"
    if not (render / "swap" / "swap.1024.exr").is_file():
        say("rendering the demo plate (faceswap-vfx demo, about a minute)")
        run_demo(render, say=say)
    return EvalSpec(run=SHIPPED_MODEL, out=out, data=data, train_data=train,
                    outside=[("cameraman", outside)] if outside else [],
                    direction=direction_file,
                    render=str(render / "swap" / "swap.####.exr"),
                    plates=str(render / "plate" / "plate.####.exr"), notes=list(NOTES),
                    strengths=(-3.0, -1.5, 0.0, 1.5, 3.0))
