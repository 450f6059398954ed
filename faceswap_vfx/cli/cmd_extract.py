"""``faceswap-vfx extract``: turn plates or photos of one person into a training dataset."""

from __future__ import annotations

import argparse

from faceswap_vfx.cli.params_cli import add_param_flags, params_from_args

EXAMPLE = """example:
  faceswap-vfx extract 'shot010/plate.####.exr' --frames 1001-1100 --identity actor_a \\
      --out datasets/actor_a --resolution 256
  faceswap-vfx extract photos/double_b/ --identity double_b --out datasets/double_b \\
      --resolution 512

Writes DATASET/manifest.json, crops/*.exr (half, working colour space), masks/*.png
and contact_sheet.png. Frames or photos without a face are listed in the manifest."""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "extract", help="write aligned face crops, masks and a manifest for training",
        description="Find the faces of one person in a plate sequence (tracked and "
                    "stabilised as by 'align') or in a folder of photos (each on its own), "
                    "and write a training dataset: aligned crops, face masks (the polygon "
                    "of the jaw line and brows), landmarks, a manifest and a contact sheet.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("source", metavar="PATTERN_OR_FOLDER",
                   help="plate pattern (plate.####.exr) or a folder of photos")
    p.add_argument("--identity", required=True, help="name of the person, e.g. actor_a")
    p.add_argument("--out", required=True, metavar="DATASET", help="dataset folder")
    p.add_argument("--resolution", type=int, metavar="R",
                   help="crop side in px, a power of two (default: --crop-size)")
    p.add_argument("--frames", help="frame range of the plate, e.g. 1001-1100x2")
    p.add_argument("--align", metavar="SHOT.align.json",
                   help="use this alignment file instead of aligning the plate again")
    p.add_argument("--photo-colorspace", default="srgb_tx",
                   help="OCIO colour space of 8/16-bit photos (default: srgb_tx); float "
                        "files use --plate-colorspace")
    add_param_flags(p, "colour", "faces")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from faceswap_vfx.cli.cmd_align import ProgressReport
    from faceswap_vfx.face.align_file import load_alignment
    from faceswap_vfx.face.extract import extract_dataset

    values = params_from_args(args)
    resolution = args.resolution or values["crop_size"]
    alignment = load_alignment(args.align) if args.align else None
    with ProgressReport("find faces") as found, ProgressReport("write crops") as written:
        manifest = extract_dataset(args.source, args.out, args.identity, resolution, values,
                                   frames=args.frames, alignment=alignment,
                                   photo_colorspace=args.photo_colorspace, progress=found,
                                   crop_progress=written)
    for item in manifest["skipped"]:
        where = item["source"] + (f" frame {item['frame']}" if item["frame"] is not None else "")
        print(f"skipped ({item['reason']}): {where}")
    print(f"wrote {args.out}: {len(manifest['items'])} faces of {args.identity} at "
          f"{manifest['resolution']}px, {len(manifest['skipped'])} skipped")
    return 0
