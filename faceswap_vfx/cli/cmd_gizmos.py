"""``faceswap-vfx gizmos``: regenerate the Nuke gizmos from the schema; bake alignment
files for FaceAlign / FaceUnalign (what their Bake button runs)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

WRITE_EXAMPLE = """example:
  faceswap-vfx gizmos write                 # rewrite nuke_gizmos/gizmos/*.gizmo
  faceswap-vfx gizmos write --check         # exit 1 if they are out of date

Run from the root of a source checkout (the kernels are read from shaders/)."""

BAKE_EXAMPLE = """example:
  faceswap-vfx gizmos bake shot010.align.json --track largest --direction align

Prints JSON: knob name -> the script Nuke's knob.fromScript() takes."""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("gizmos", help="Nuke gizmos: regenerate, bake alignment files",
                              description="Nuke gizmos generated from the parameter schema.")
    sub = p.add_subparsers(dest="gizmos_command", metavar="ACTION", required=True)
    write = sub.add_parser(
        "write", help="write the gizmos generated from the schema",
        description="Write FaceSwap, MultiBandBlend, FaceAlign and FaceUnalign .gizmo files, "
                    "their knobs generated from faceswap_vfx/params.py and the BlinkScript "
                    "kernels of shaders/ embedded.",
        epilog=WRITE_EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    write.add_argument("--out", default="nuke_gizmos/gizmos",
                       help="folder (default: nuke_gizmos/gizmos)")
    write.add_argument("--check", action="store_true",
                       help="write nothing; exit 1 and name the files that differ")
    write.set_defaults(func=run_write)
    bake = sub.add_parser(
        "bake", help="an alignment file as FaceAlign / FaceUnalign knob animation",
        description="Read an alignment file and print, for one track, the per-frame "
                    "Transform (translate, rotate, scale) that maps plate to crop (align) "
                    "or crop to plate (unalign) in Nuke's bottom-left-origin coordinates.",
        epilog=BAKE_EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    bake.add_argument("align", help="alignment file (*.align.json)")
    bake.add_argument("--track", default="largest", help="'largest', 'all' or a track id")
    bake.add_argument("--direction", choices=("align", "unalign"), default="align")
    bake.add_argument("--out", metavar="FILE.json",
                      help="write the knob scripts here (atomically) instead of printing them")
    bake.set_defaults(func=run_bake)


def run_write(args: argparse.Namespace) -> int:
    from faceswap_vfx.io.atomic import atomic_write_text
    from faceswap_vfx.nuke.gizmos import generate

    out = Path(args.out)
    stale = [name for name, text in generate().items()
             if not (out / name).is_file() or (out / name).read_text() != text]
    if args.check:
        for name in stale:
            print(f"{out / name}: out of date (run 'faceswap-vfx gizmos write')")
        return 1 if stale else 0
    out.mkdir(parents=True, exist_ok=True)
    for name, text in generate().items():
        if name in stale:
            atomic_write_text(out / name, text)
        print(f"{out / name}: {'written' if name in stale else 'up to date'}")
    return 0


def run_bake(args: argparse.Namespace) -> int:
    from faceswap_vfx.face.align_file import load_alignment
    from faceswap_vfx.nuke.align import bake

    scripts = bake(load_alignment(args.align), args.track, args.direction)
    if args.out:
        from faceswap_vfx.io.atomic import atomic_write_text

        atomic_write_text(args.out, json.dumps(scripts, indent=1) + "\n")
        return 0
    json.dump(scripts, sys.stdout, indent=1)
    print()
    return 0
