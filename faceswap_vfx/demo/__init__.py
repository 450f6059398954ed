"""The whole job on bundled public-domain data: ``faceswap-vfx demo``.

1. a moving scene-linear EXR plate of the astronaut (A, Z, a mask layer, metadata);
2. a comb model of two identities, astronaut and grace_hopper: the small one shipped in
   the package (trained by ``bench/train_portraits.py`` on exactly these portraits), or,
   with ``train=True``, trained here from one photo each with heavy augmentation;
3. faces aligned and stabilised, the alignment file and a shot file (for the panel) written;
4. grace_hopper's face rendered into the plate with the multi-band blend;
5. a contact sheet PNG: plate, swap and mask of a few frames side by side.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from faceswap_vfx import params as schema
from faceswap_vfx.face.align_file import save_alignment
from faceswap_vfx.face.extract import contact_sheet, extract_dataset
from faceswap_vfx.face.pipeline import align_sequence
from faceswap_vfx.io.colour import display_uint8
from faceswap_vfx.io.image import Image, read_image, write_image
from faceswap_vfx.io.sequence import FramePattern, ImageSequence
from faceswap_vfx.model.config import CombConfig
from faceswap_vfx.render.frame import MASK_CHANNEL
from faceswap_vfx.render.job import render_sequence, swap_graph
from faceswap_vfx.render.model_source import load_swap_model, resolve_device
from faceswap_vfx.samples import portraits
from faceswap_vfx.samples.exr_plate import write_sample_plate
from faceswap_vfx.train.config import AugmentConfig, RunConfig, TrainConfig

log = logging.getLogger(__name__)

SHIPPED_MODEL = Path(__file__).parents[1] / "samples" / "demo_model"
"""A run folder (config.json, checkpoints/) trained on the two bundled portraits."""
FRAMES = list(range(1001, 1025))
PLATE_SIZE = (540, 960)  # (h, w): the face ~150 px, for the 128 px model


def run_demo(out: str | Path, *, model: str | Path | None = None, train: bool = False,
             frames: list[int] | None = None, say: Callable[[str], None] = print) -> Path:
    """Run the demo into ``out``; returns the contact sheet's path."""
    out, frames = Path(out), frames or FRAMES
    t0 = time.perf_counter()
    if train:
        model = train_demo_model(out / "train", say=say)
    model = Path(model or SHIPPED_MODEL)
    params = schema.resolve({"identity": "grace_hopper", "model": str(model)})
    device = resolve_device(params["device"])
    swap_model = load_swap_model(model, "grace_hopper", device)
    params["working_colorspace"] = swap_model.colorspace
    say(f"model: {model} ({', '.join(swap_model.identities)}; {swap_model.resolution} px)")
    pattern = write_sample_plate(out / "plate", frames, PLATE_SIZE, portrait="astronaut_head",
                                 motion="drift")
    say(f"plate: {pattern} ({len(frames)} frames, scene-linear half EXR)")
    plates = ImageSequence.find(pattern)
    alignment = align_sequence(plates, params)
    save_alignment(alignment, out / "shot.align.json")
    say(f"aligned: {out / 'shot.align.json'}")
    write_demo_shot(out, params)
    say(f"shot file: {out / 'shot.json'} (open it with: faceswap-vfx panel --shot ...)")
    swap_pattern = str(out / "swap" / "swap.####.exr")
    graph = swap_graph(plates, alignment, swap_model.generate, swap_pattern, params,
                       resolution=swap_model.resolution, device=device)
    report = render_sequence(graph, plates.frames, swap_pattern, params, overwrite=True,
                             progress=None)
    say(f"render: {report.summary()} -> {swap_pattern}")
    sheet = out / "contact_sheet.png"
    write_contact_sheet(plates, swap_pattern, sheet, params)
    say(f"contact sheet: {sheet} ({time.perf_counter() - t0:.0f} s in all)")
    return sheet


def write_demo_shot(out: Path, params: dict) -> Path:
    """``out/shot.json``: the demo as a shot file for ``faceswap-vfx panel`` and
    ``render --shot``; its inputs are relative to ``out``, the model path absolute."""
    values = {**params, "model": str(Path(params["model"]).resolve())}
    inputs = {"plates": "plate/plate.####.exr", "align": "shot.align.json",
              "out": "swap/swap.####.exr"}
    schema.save_shot(schema.Shot(values, inputs), out / "shot.json")
    return out / "shot.json"


HEAVY = AugmentConfig(rotate_deg=10.0, scale=0.1, shift=0.06, flip=0.5, exposure_stops=0.5,
                      colour=0.06)
"""Augmentation strong enough to train from one photo per identity."""
IDENTITIES = ("astronaut", "grace_hopper")


def portrait_dataset(out: Path, name: str, size: int) -> Path:
    """A one-photo dataset of a bundled portrait, made by ``faceswap-vfx extract``'s code."""
    photos = out / "photos" / name
    write_image(Image.from_array(portraits.portrait(name), dtype=np.uint8),
                photos / f"{name}.png")
    folder = out / "datasets" / name
    if not (folder / "manifest.json").is_file():
        extract_dataset(photos, folder, name, size)
    return folder


def portrait_run(out: Path, *, resolution: int = 64, width: float = 0.125, latent: int = 256,
                 images_per_level: int = 4000, extra_images: int = 6000, batch: int = 8
                 ) -> RunConfig:
    """The run the shipped demo model was trained with (``bench/train_portraits.py``):
    two identities, one photo each, heavy augmentation, 4x4 up to ``resolution``."""
    data = tuple((n, str(portrait_dataset(out, n, resolution))) for n in IDENTITIES)
    half = images_per_level // 2
    model = CombConfig(max_resolution=resolution, width=width, latent=latent)
    schedule_images = 2 * half * model.max_level + half  # level 0 stabilises only
    cfg = TrainConfig(batch_per_identity=batch, fade_images=half, stabilise_images=half,
                      max_images=schedule_images + extra_images, augment=HEAVY,
                      log_images=1000, preview_images=4000, checkpoint_images=4000,
                      preview_per_identity=1, tensorboard=False)
    return RunConfig(model, cfg, data)


def train_demo_model(out: Path, say: Callable[[str], None] = print, **run_options) -> Path:
    """Train the demo model into ``out/run`` (resumes if it is there); returns the run."""
    from faceswap_vfx.train.loop import train

    run = portrait_run(out, **run_options)
    say(f"training {', '.join(IDENTITIES)} from one photo each to "
        f"{run.model.max_resolution} px ({run.train.max_images} images)")
    train(run, out / "run", resume=True)
    return out / "run"


def write_contact_sheet(plates: ImageSequence, swap_pattern: str, path: Path,
                        params: dict, rows: int = 4) -> None:
    """Rows of plate | swap | mask for a few frames, through the display view, and a last
    row of the first one's face zoomed in."""
    picks = plates.frames[:: max(1, len(plates.frames) // rows)][:rows]
    tiles = []
    for frame in picks:
        plate = read_image(plates.path(frame), frame).part
        swap = read_image(FramePattern.parse(swap_pattern).path(frame), frame).part
        view = [display_uint8(p.display_rgb(), params["plate_colorspace"],
                              params["working_colorspace"]) for p in (plate, swap)]
        mask = np.zeros(view[0].shape[:2], np.float32)
        dw, fw = swap.data_window, swap.display_window
        mask[dw.y - fw.y:dw.y - fw.y + dw.height, dw.x - fw.x:dw.x - fw.x + dw.width] = \
            swap.channels[MASK_CHANNEL].astype(np.float32)
        view.append(np.repeat((np.clip(mask, 0, 1) * 255).astype(np.uint8)[..., None], 3, -1))
        tiles.extend(view)
        if frame == picks[0]:
            zoom_of = mask
    box = face_box(zoom_of, tiles[0].shape[:2])
    if box is not None:  # a last row: the first frame's face, zoomed, plate | swap | mask
        tiles.extend(zoomed(t, box, tiles[0].shape[:2]) for t in tiles[:3])
    write_image(Image.from_array(contact_sheet(tiles, columns=3)), path)


def face_box(mask: np.ndarray, shape: tuple[int, int], margin: float = 0.6
             ) -> tuple[int, int, int, int] | None:
    """(y0, x0, h, w): the box of ``mask``'s nonzero pixels grown by ``margin`` of its size,
    widened to the aspect of ``shape`` (h, w) and moved inside it; None without a face."""
    ys, xs = np.nonzero(mask > 0)
    if not len(ys):
        return None
    cy, cx = (ys.min() + ys.max()) / 2, (xs.min() + xs.max()) / 2
    h = (ys.max() - ys.min() + 1) * (1 + margin)
    w = max(h * shape[1] / shape[0], (xs.max() - xs.min() + 1) * (1 + margin))
    h = min(w * shape[0] / shape[1], shape[0])
    w = min(h * shape[1] / shape[0], shape[1])
    y0 = int(np.clip(round(cy - h / 2), 0, shape[0] - round(h)))
    x0 = int(np.clip(round(cx - w / 2), 0, shape[1] - round(w)))
    return y0, x0, int(round(h)), int(round(w))


def zoomed(tile: np.ndarray, box: tuple[int, int, int, int], shape: tuple[int, int]
           ) -> np.ndarray:
    """``tile`` (H, W, 3) uint8 cut to ``box`` and scaled to ``shape`` (nearest pixel)."""
    y0, x0, h, w = box
    rows = y0 + (np.arange(shape[0]) * h // shape[0])
    cols = x0 + (np.arange(shape[1]) * w // shape[1])
    return tile[rows[:, None], cols[None, :]]
