"""``faceswap-vfx demo``: the whole job on bundled public-domain data."""

from __future__ import annotations

import argparse

EXAMPLE = """example:
  faceswap-vfx demo --out demo_out
  faceswap-vfx demo --out demo_out --train      # train the model here too (~15 min on 2 cores)

Writes demo_out/plate/ (the plate), demo_out/shot.align.json, demo_out/swap/ (the swapped
EXRs, mask in 'faceswap.mask') and demo_out/contact_sheet.png (plate | swap | mask)."""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "demo", help="run the whole job on bundled sample data",
        description="Make a moving scene-linear EXR plate of a public-domain portrait, align "
                    "its face, render another identity's face into it with the comb model "
                    "shipped in the package (trained on the two bundled portraits), and write "
                    "the EXRs and a contact sheet to look at.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="demo_out", help="output folder (default: demo_out)")
    p.add_argument("--model", help="a run folder or exported .pt instead of the shipped model")
    p.add_argument("--train", action="store_true",
                   help="train the two-identity model here instead of using the shipped one")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from faceswap_vfx.demo import run_demo

    run_demo(args.out, model=args.model, train=args.train)
    return 0
