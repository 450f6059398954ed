"""``faceswap-vfx panel``: the artist panel (PySide6) with a live preview of the swap."""

from __future__ import annotations

import argparse
import sys

EXAMPLE = """example:
  faceswap-vfx demo --out demo_out
  faceswap-vfx panel --shot demo_out/shot.json

Edit the shot's mask and blend parameters while looking at the swap (the network runs
once per frame; blend changes re-use its faces), then Render for the frame range in the
background. File > Save writes the shot file that 'faceswap-vfx render --shot' reads.
Headless: QT_QPA_PLATFORM=offscreen faceswap-vfx panel --shot S --screenshot panel.png"""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "panel", help="open the artist panel: shot parameters, live preview, render",
        description="Open a window with every parameter of a shot (widgets made from the "
                    "parameter schema), a viewer of the swap at the current parameters "
                    "(mask overlay, plate/swap wipe, pyramid bands, a frame slider) and a "
                    "Render button that runs 'faceswap-vfx render' in the background.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shot", metavar="SHOT.json", help="shot file to open")
    p.add_argument("--screenshot", metavar="PNG",
                   help="save a picture of the window once the preview is shown, then quit")
    p.add_argument("--preview-worker", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.preview_worker:
        from faceswap_vfx.ui.preview_worker import main

        return main()
    try:
        from faceswap_vfx.ui.app import run_panel
    except ImportError as exc:
        print(f"faceswap-vfx panel: error: the panel needs PySide6 ({exc}); "
              "pip install PySide6-Essentials", file=sys.stderr)
        return 1
    return run_panel(args.shot, args.screenshot)
