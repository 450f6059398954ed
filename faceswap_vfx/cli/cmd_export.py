"""``faceswap-vfx export``: one identity of a trained run as TorchScript for Nuke."""

from __future__ import annotations

import argparse
import json
import logging
import warnings
from pathlib import Path

EXAMPLE = """example:
  faceswap-vfx export runs/ab --identity bob --out bob.pt
  faceswap-vfx export runs/ab --identity bob --out bob.pt --nuke 15.1
  faceswap-vfx export runs/ab/checkpoints/000004800000.pt --identity alice --out alice.pt

Nuke 14.0-15.0 embed libtorch 1.12.1, Nuke 15.1-17 libtorch 2.1.1: the export is checked
against the operators of the target's libtorch and refused when it uses one that is missing.
Beside bob.pt it writes bob.json (the sidecar) and cat.json (the Cattery's description of
bob.cat, which CatFileCreator makes from bob.pt: see nuke_gizmos/README.md)."""

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "export", help="write one identity as a TorchScript module for Nuke's CatFileCreator",
        description="Write the encoder and one identity's decoder, at the checkpoint's level "
                    "with the fade-in complete, as a TorchScript file (one float tensor "
                    "1xCxHxW in, 1x3xHxW out, resizing and clamping inside) and a sidecar "
                    "JSON beside it with the resolution, colour space and identity. A run "
                    "stopped in the middle of a fade-in exports the level below.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", help="run folder (its newest checkpoint) or a checkpoint file")
    p.add_argument("--identity", required=True, help="whose face the module makes")
    p.add_argument("--out", required=True, help="the .pt file; the sidecar gets .json")
    p.add_argument("--nuke", default="14", metavar="VERSION",
                   help="the oldest Nuke that must load it: 14 (default; libtorch 1.12.1, "
                        "every Nuke from 14.0) or 15.1 (libtorch 2.1.1, Nuke 15.1-17)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from faceswap_vfx.errors import ParameterError
    from faceswap_vfx.io.atomic import atomic_path, atomic_write_text
    from faceswap_vfx.model.export import cattery_entry, export_level, export_torchscript, sidecar
    from faceswap_vfx.model.nuke_targets import missing_operators, target_for
    from faceswap_vfx.train.checkpoint import (
        latest_checkpoint,
        load_checkpoint,
        model_from_checkpoint,
    )

    target = target_for(args.nuke)
    source = Path(args.run)
    path = latest_checkpoint(source) if source.is_dir() else source
    ckpt = load_checkpoint(path)
    if args.identity not in ckpt.identities:
        raise ParameterError(f"unknown identity {args.identity!r}; the run has "
                             f"{', '.join(ckpt.identities)}", path=path)
    model = model_from_checkpoint(ckpt)
    level = export_level(model, ckpt.alpha)
    if level != ckpt.model_config.max_level:
        log.warning("exporting level %d (%d px): the run has not finished its last level %d",
                    level, 4 << level, ckpt.model_config.max_level)
    module = export_torchscript(model, args.identity, level)
    missing = missing_operators(module, target)
    if missing:
        raise ParameterError(f"the export calls operators libtorch {target.libtorch} (Nuke "
                             f"{target.nuke}) does not have: {', '.join(missing)}", path=path)
    out = Path(args.out)
    with atomic_path(out) as tmp, warnings.catch_warnings():
        warnings.filterwarnings("ignore", r"`torch\.jit\.save` is deprecated", DeprecationWarning)
        torch.jit.save(module, str(tmp))
    meta = sidecar(model, args.identity, level, ckpt.colorspace, checkpoint=str(path.resolve()),
                   images_seen=ckpt.images_seen, nuke=target.nuke, libtorch=target.libtorch)
    atomic_write_text(out.with_suffix(".json"), json.dumps(meta, indent=2) + "\n")
    cat_json = out.with_name("cat.json")
    try:
        existing = json.loads(cat_json.read_text()) if cat_json.is_file() else None
    except (OSError, ValueError):
        existing = None  # not a Cattery description we can extend: written anew
    cat = cattery_entry(out.stem, args.identity, target.nuke,
                        existing if isinstance(existing, dict) else None)
    atomic_write_text(cat_json, json.dumps(cat, indent=2) + "\n")
    print(f"{out}: {args.identity} at {meta['resolution']} px, {ckpt.colorspace}, for Nuke "
          f"{target.nuke} (libtorch {target.libtorch})")
    return 0
