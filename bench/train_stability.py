"""Which optimiser recipe trains at every width: short progressive runs side by side.

    python bench/train_stability.py OUT --widths 0.125 1.0 --resolution 16

For each width, the same run (two portrait datasets extracted by the project, 4 px ->
``--resolution``, ``--images-per-level``) with each recipe: one Adam lr for every layer (the
recipe before the equalised lr) and the equalised lr at a few base rates. Prints, per run, the
L1 loss at the end of each level, the lowest ``follows`` after the first level (0: the network
gives one image whatever it is shown) and img/s. The divergence watch is off, so every run goes
to its end. The default (``TrainConfig``) is marked.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import torch

from faceswap_vfx.demo import IDENTITIES, portrait_dataset
from faceswap_vfx.model.config import CombConfig
from faceswap_vfx.train.config import RunConfig, TrainConfig
from faceswap_vfx.train.feedback import read_scalars
from faceswap_vfx.train.loop import train

RECIPES = (("none", 1e-3), ("equalized", 1e-3), ("equalized", 3e-3), ("equalized", 1e-2))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("out", nargs="?", default="stability_run")
    p.add_argument("--widths", type=float, nargs="+", default=[0.125, 1.0])
    p.add_argument("--resolution", type=int, default=16)
    p.add_argument("--images-per-level", type=int, default=800)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    data = tuple((n, str(portrait_dataset(out, n, args.resolution))) for n in IDENTITIES)
    default = TrainConfig()
    half = args.images_per_level // 2
    print(f"{args.resolution} px, {args.images_per_level} images a level, batch "
          f"{default.batch_per_identity} x {len(data)}; default: {default.lr_scaling} "
          f"lr {default.learning_rate:g}")
    print("| width | recipe | lr | L1 at the end of each level | lowest follows | img/s |")
    print("|---|---|---|---|---|---|")
    for width in args.widths:
        model = CombConfig(max_resolution=args.resolution, width=width,
                           split_level=min(1, CombConfig(args.resolution).max_level - 1))
        for scaling, lr in RECIPES:
            cfg = dataclasses.replace(default, learning_rate=lr, lr_scaling=scaling,
                                      fade_images=half, stabilise_images=half,
                                      log_images=64, preview_images=10**9,
                                      checkpoint_images=10**9, tensorboard=False,
                                      divergence_factor=0)
            run_dir = out / f"w{width:g}_{scaling}_{lr:g}"
            t0 = time.perf_counter()
            train(RunConfig(model, cfg, data), run_dir, resume=True)
            seconds = time.perf_counter() - t0
            records = read_scalars(run_dir)
            ends = {}
            for r in records:
                ends[r["level"]] = r["l1"]
            follows = min(r["follows"] for r in records if r["level"] > 0)
            mark = " (default)" if (scaling, lr) == (default.lr_scaling,
                                                     default.learning_rate) else ""
            print(f"| {width:g} | {scaling}{mark} | {lr:g} | "
                  f"{' '.join(f'{v:.3f}' for v in ends.values())} | {follows:.2f} | "
                  f"{records[-1]['images_seen'] / seconds:.0f} |", flush=True)


if __name__ == "__main__":
    main()
