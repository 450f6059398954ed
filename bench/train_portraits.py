"""A real, short progressive training run on the two bundled portraits (two identities).

    python bench/train_portraits.py OUT                 # 64 px, width 0.125: ~15 min on 2 cores
    python bench/train_portraits.py OUT --resolution 128 --width 0.25 --images-per-level 8000

Each portrait is written as a photo and turned into a one-photo dataset by the extraction
code (dlib landmarks, aligned crop at the run's resolution, margin 0.35, polygon mask;
OUT/datasets); heavy on-the-fly augmentation stands in for more photos. The run trains
from 4x4 px to the resolution, then stabilises further at the last level, writing OUT/run
(previews/, scalars.jsonl, ...).
At the end it writes OUT/run/previews/jittered.png: four augmented views of each face
(rows: inputs, own reconstructions, swaps), and prints the time taken.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import torch

from faceswap_vfx.demo import HEAVY, portrait_run
from faceswap_vfx.train.augment import augment
from faceswap_vfx.train.checkpoint import latest_checkpoint, load_checkpoint, model_from_checkpoint
from faceswap_vfx.train.dataset import TrainingData
from faceswap_vfx.train.feedback import read_scalars
from faceswap_vfx.train.loop import train
from faceswap_vfx.train.preview import preview_grid, write_preview
from faceswap_vfx.train.sampler import step_generator


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("out", nargs="?", default="portrait_run")
    p.add_argument("--resolution", type=int, default=64)
    p.add_argument("--width", type=float, default=0.125)
    p.add_argument("--latent", type=int, default=256)
    p.add_argument("--images-per-level", type=int, default=4000)
    p.add_argument("--extra-images", type=int, default=6000, help="more at the last level")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    t0 = time.perf_counter()
    run = portrait_run(out, resolution=args.resolution, width=args.width, latent=args.latent,
                       images_per_level=args.images_per_level, extra_images=args.extra_images,
                       batch=args.batch)
    t1 = time.perf_counter()
    result = train(run, out / "run", resume=True)
    t2 = time.perf_counter()

    ckpt = load_checkpoint(latest_checkpoint(out / "run"))
    net = model_from_checkpoint(ckpt)
    loaded = TrainingData(run.data, args.resolution)
    views = {}
    for i, name in enumerate(loaded.names):
        crops = loaded.identities[name].crops.float().expand(4, -1, -1, -1)
        masks = torch.ones(4, 1, args.resolution, args.resolution)
        views[name] = augment(crops, masks, HEAVY, step_generator(99, i))[0]
    write_preview(preview_grid(net, views), out / "run" / "previews" / "jittered.png")
    last = read_scalars(out / "run")[-1]
    print(f"datasets (dlib alignment): {t1 - t0:.1f} s; training {result.images_seen} images "
          f"to {4 << result.level} px: {t2 - t1:.1f} s ({result.images_seen / (t2 - t1):.1f} "
          f"img/s); final loss {last['loss']:.4f} (l1 {last['l1']:.4f})")
    print(f"previews: {out / 'run' / 'previews'}")


if __name__ == "__main__":
    main()
