"""``faceswap-vfx train``: progressive multi-identity training of the comb network."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

EXAMPLE = """example:
  faceswap-vfx train --data alice=datasets/alice --data bob=datasets/bob --out runs/ab \\
      --max-resolution 256 --width 0.5 --images-per-level 400000
  faceswap-vfx train --resume runs/ab
  faceswap-vfx train --config runs/ab/config.json --data carol=datasets/carol --out runs/abc"""

# flag -> (config section, field); None values mean "not given"
_MODEL_FLAGS = {"max_resolution": "max_resolution", "width": "width", "latent": "latent",
                "split_level": "split_level"}
_TRAIN_FLAGS = {"batch": "batch_per_identity", "lr": "learning_rate", "seed": "seed",
                "background_weight": "background_weight", "fade_images": "fade_images",
                "stabilise_images": "stabilise_images", "log_images": "log_images",
                "preview_images": "preview_images", "checkpoint_images": "checkpoint_images"}


def register(subparsers: argparse._SubParsersAction) -> None:
    from faceswap_vfx.model.config import CombConfig
    from faceswap_vfx.train.config import TrainConfig

    model, train = CombConfig(), TrainConfig()
    p = subparsers.add_parser(
        "train", help="train a comb network on datasets of aligned crops",
        description="Train one comb network on several identities, growing from 4x4 px to "
                    "--max-resolution. The run folder gets config.json, checkpoints/, "
                    "previews/, scalars.jsonl and tensorboard/. Lengths are in images.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", action="append", default=[], metavar="NAME=DATASET",
                   help="an identity's dataset folder (repeat per identity; without NAME= the "
                        "manifest's identity; one NAME may have several folders)")
    p.add_argument("--out", help="run folder")
    p.add_argument("--resume", nargs="?", const=True, metavar="RUN",
                   help="continue the run in RUN (or --out) from its newest checkpoint")
    p.add_argument("--config", help="start from this run's config.json (flags override it)")
    m = p.add_argument_group("network")
    m.add_argument("--max-resolution", type=int,
                   help=f"final side in px, 4..1024 (default {model.max_resolution})")
    m.add_argument("--width", type=float,
                   help=f"channel multiplier (default {model.width:g}: Table 1, 23M parameters "
                        "per side; on a CPU, 0.125-0.25 trains in minutes at 64-128 px)")
    m.add_argument("--latent", type=int, help=f"latent channels (default {model.latent})")
    m.add_argument("--split-level", type=int,
                   help=f"last decoder level shared by every identity (default "
                        f"{model.split_level}; lower at 4-8 px, so that the heads keep a level)")
    t = p.add_argument_group("training")
    t.add_argument("--images-per-level", type=int,
                   help=f"images per level: half fade-in, half stabilise (default "
                        f"{train.fade_images + train.stabilise_images}, progressive GANs'; "
                        f"on a CPU, 4000-20000)")
    t.add_argument("--fade-images", type=int,
                   help=f"fade-in images per level (default {train.fade_images})")
    t.add_argument("--stabilise-images", type=int,
                   help=f"stabilise images per level (default {train.stabilise_images})")
    t.add_argument("--max-images", type=int, help="stop after this many images")
    t.add_argument("--batch", type=int, help=f"crops per identity per step (default "
                   f"{train.batch_per_identity})")
    t.add_argument("--lr", type=float, help=f"Adam learning rate, equalised: each layer's "
                   f"times its He scale (default {train.learning_rate:g})")
    t.add_argument("--loss", action="append", metavar="NAME=WEIGHT",
                   help="a loss and its weight, e.g. l1=1 ms_ssim=1 perceptual=0.1 (repeat)")
    t.add_argument("--perceptual-net", help="VGG16 feature weights (.pth) for the perceptual loss")
    t.add_argument("--background-weight", type=float, help=f"loss weight outside the face "
                   f"mask (default {train.background_weight:g})")
    t.add_argument("--seed", type=int, help=f"random seed (default {train.seed})")
    t.add_argument("--device", help="auto (default), cpu, cuda, cuda:1, ...")
    t.add_argument("--log-images", type=int,
                   help=f"log/scalar interval in images (default {train.log_images})")
    t.add_argument("--preview-images", type=int,
                   help=f"preview grid interval in images (default {train.preview_images})")
    t.add_argument("--checkpoint-images", type=int,
                   help=f"checkpoint interval in images (default {train.checkpoint_images})")
    t.add_argument("--no-tensorboard", action="store_true", help="no TensorBoard scalars")
    p.set_defaults(func=run)


def small_split_level(max_resolution: int, default: int) -> int:
    """The default split level, lowered where ``max_resolution`` leaves no decoder level for
    the heads after it (4 px: -1, 8 px: at most 0)."""
    max_level = max_resolution.bit_length() - 3
    return min(default, max_level - 1)


def _pairs(values: list[str], flag: str) -> list[tuple[str, str]]:
    from faceswap_vfx.errors import ParameterError

    out = []
    for v in values:
        name, sep, rest = v.partition("=")
        if not sep or not name or not rest:
            raise ParameterError(f"{flag} {v!r} is not NAME=VALUE")
        out.append((name, rest))
    return out


def _overrides(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any]]:
    model = {f: getattr(args, a) for a, f in _MODEL_FLAGS.items() if getattr(args, a) is not None}
    train = {f: getattr(args, a) for a, f in _TRAIN_FLAGS.items() if getattr(args, a) is not None}
    if args.images_per_level is not None:
        train.setdefault("fade_images", args.images_per_level // 2)
        train.setdefault("stabilise_images", args.images_per_level - args.images_per_level // 2)
    if args.loss:
        train["loss_weights"] = {n: float(w) for n, w in _pairs(args.loss, "--loss")}
    if args.perceptual_net:
        train["loss_options"] = {"perceptual": {"path": args.perceptual_net}}
    return model, train


def run(args: argparse.Namespace) -> int:
    from faceswap_vfx.errors import ParameterError
    from faceswap_vfx.model.config import CombConfig
    from faceswap_vfx.train.config import RunConfig, TrainConfig
    from faceswap_vfx.train.loop import CONFIG, train
    from faceswap_vfx.train.manifest import read_manifest

    model, train_over = _overrides(args)
    resumable = {"device": args.device, "max_images": args.max_images,
                 "tensorboard": False if args.no_tensorboard else None}
    if args.resume:
        if args.resume is True and not args.out:
            raise ParameterError("--resume needs a run folder (--resume RUN or --out RUN)")
        run_dir = Path(args.out if args.resume is True else args.resume)
        given = sorted({**model, **train_over}) + ["data"] * bool(args.data) + \
            ["config"] * bool(args.config)
        if given:
            raise ParameterError(f"a resumed run keeps its config.json; only --device, "
                                 f"--max-images and --no-tensorboard may change (got "
                                 f"{', '.join(given)})")
        config = RunConfig.load(run_dir / CONFIG)
    else:
        if not args.out:
            raise ParameterError("--out RUN is required")
        run_dir = Path(args.out)
        base = RunConfig.load(args.config) if args.config else None
        data = tuple((n, str(Path(p).resolve())) if sep else (read_manifest(n).identity,
                                                               str(Path(n).resolve()))
                     for n, sep, p in (d.partition("=") for d in args.data))
        if not data and base is None:
            raise ParameterError("--data NAME=DATASET is required (once per identity)")
        train_base = base.train.to_dict() if base else {}
        model_base = base.model if base else CombConfig()
        if "split_level" not in model and not base:
            model = {**model, "split_level": small_split_level(
                model.get("max_resolution", model_base.max_resolution), model_base.split_level)}
        config = RunConfig(dataclasses.replace(model_base, **model),
                           TrainConfig.from_dict({**train_base, **train_over}),
                           data or base.data)
    extra = {k: v for k, v in resumable.items() if v is not None}
    if extra:
        config = dataclasses.replace(config, train=dataclasses.replace(config.train, **extra))
    result = train(config, run_dir, resume=bool(args.resume))
    print(f"{run_dir}: {result.images_seen} images, level {result.level} "
          f"({4 << result.level} px), checkpoint {result.checkpoint}")
    return 0
