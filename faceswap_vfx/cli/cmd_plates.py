"""``faceswap-vfx plates``: inspect plate sequences, write a sample plate."""

from __future__ import annotations

import argparse
import json

from faceswap_vfx.cli.params_cli import add_param_flags, params_from_args

INFO_EXAMPLE = """example:
  faceswap-vfx plates info 'shot010/plate.####.exr' --frames 1001-1100
  faceswap-vfx plates info 'shot010/plate.%04d.exr' --json > plate_info.json"""

SAMPLE_EXAMPLE = """example:
  faceswap-vfx plates sample --out sample --frames 1001-1012
  faceswap-vfx plates info 'sample/plate.####.exr'"""


def register(subparsers: argparse._SubParsersAction) -> None:
    plates = subparsers.add_parser("plates", help="inspect plate sequences",
                                   description="Inspect plate sequences.")
    sub = plates.add_subparsers(dest="plates_command", metavar="ACTION", required=True)

    info = sub.add_parser(
        "info", help="frame range, missing frames, windows, channels, compression, colour",
        description="Print what a plate sequence holds: frame range, missing and unreadable "
                    "frames, resolution, data/display windows, channels with their pixel "
                    "types, compression and colour space.",
        epilog=INFO_EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    info.add_argument("pattern", help="plate.####.exr, plate.%%04d.exr, plate.$F4.exr or a file")
    info.add_argument("--frames", help="frame range, e.g. 1001-1100 or 1001-1100x2")
    info.add_argument("--json", action="store_true", help="print JSON for programs")
    info.add_argument("--check", action="store_true",
                      help="read every frame's pixels too (finds truncated files)")
    add_param_flags(info, "colour")
    info.set_defaults(func=run_info)

    sample = sub.add_parser(
        "sample", help="write a generated sample plate sequence (scene-linear EXR)",
        description="Write a sample scene-linear EXR plate sequence made from a public-domain "
                    "portrait moving with known motion, with extra channels (A, Z, mask.r), "
                    "a data window inside the display window and metadata.",
        epilog=SAMPLE_EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    sample.add_argument("--out", default="sample", help="output folder (default: sample)")
    sample.add_argument("--frames", default="1001-1012", help="frame range (default 1001-1012)")
    sample.add_argument("--size", default="512x288", help="plate WIDTHxHEIGHT (default 512x288)")
    sample.add_argument("--portrait", default="astronaut", choices=("astronaut", "grace_hopper"))
    sample.set_defaults(func=run_sample)


def run_info(args: argparse.Namespace) -> int:
    from faceswap_vfx.io.info import describe_sequence, format_description

    values = params_from_args(args)
    info = describe_sequence(args.pattern, args.frames, check_pixels=args.check,
                             plate_colorspace=values["plate_colorspace"])
    print(json.dumps(info, indent=2) if args.json else format_description(info))
    return 1 if info["unreadable"] else 0


def run_sample(args: argparse.Namespace) -> int:
    from faceswap_vfx.io.sequence import parse_frames
    from faceswap_vfx.samples.exr_plate import write_sample_plate

    width, _, height = args.size.partition("x")
    pattern = write_sample_plate(args.out, parse_frames(args.frames),
                                 (int(height), int(width)), portrait=args.portrait)
    print(pattern)
    return 0
