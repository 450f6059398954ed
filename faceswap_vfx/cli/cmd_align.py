"""``faceswap-vfx align``: find, track and stabilise faces; write the alignment file."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from faceswap_vfx.cli.params_cli import add_param_flags, params_from_args

EXAMPLE = """example:
  faceswap-vfx align 'shot010/plate.####.exr' --frames 1001-1100 --out shot010.align.json
  faceswap-vfx align 'shot010/plate.%04d.exr' --track all --smooth-cutoff 0.1 --out a.json

The file format is described in docs/alignment_file.md."""


class ProgressReport:
    """A tqdm bar on a terminal; ``Progress: NN%`` lines (for farm managers) otherwise.
    Call with ``(done, total)``; use as a context manager."""

    def __init__(self, label: str, stream=None) -> None:
        self.label, self.stream = label, stream or sys.stderr
        self.bar, self.last = None, -1

    def __enter__(self) -> Callable[[int, int], None]:
        return self

    def __call__(self, done: int, total: int) -> None:
        if self.stream.isatty():
            if self.bar is None:
                from tqdm import tqdm

                self.bar = tqdm(total=total, desc=self.label, unit="frame", file=self.stream)
            self.bar.update(done - self.bar.n)
            return
        percent = 100 * done // max(total, 1)
        if percent != self.last:
            self.last = percent
            print(f"Progress: {percent}% ({self.label} {done}/{total})", file=self.stream,
                  flush=True)

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "align", help="find and track faces in a plate; write the alignment file",
        description="Detect faces with dlib on the plate's display-referred view, link them "
                    "into tracks, stabilise their 68 landmarks (refinement on the aligned "
                    "crop, zero-phase temporal smoothing) and write a versioned JSON file: "
                    "per frame and track, the landmarks in plate pixels, the 3x3 "
                    "plate_from_crop, the detector score and a detected/interpolated/no_face "
                    "flag. Frames without a face are listed, not fatal.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("pattern", help="plate.####.exr, plate.%%04d.exr, plate.$F4.exr or a file")
    p.add_argument("--frames", help="frame range, e.g. 1001-1100 or 1001-1100x2 (default: all)")
    p.add_argument("--out", required=True, metavar="SHOT.align.json", help="alignment file")
    add_param_flags(p, "colour", "faces")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from faceswap_vfx.face.align_file import save_alignment
    from faceswap_vfx.face.pipeline import align_sequence
    from faceswap_vfx.io.sequence import ImageSequence, format_frames

    values = params_from_args(args)
    seq = ImageSequence.find(args.pattern, args.frames)
    if seq.missing:
        print(f"faceswap-vfx align: frames not on disk, skipped: {format_frames(seq.missing)}",
              file=sys.stderr)
    with ProgressReport("align") as progress:
        alignment = align_sequence(seq, values, progress)
    save_alignment(alignment, args.out)
    for tr in alignment.tracks:
        print(f"track {tr['id']}{' (kept)' if tr['kept'] else ''}: frames {tr['first']}-"
              f"{tr['last']}, {tr['detected']} detected, {tr['interpolated']} interpolated, "
              f"median face {tr['median_size']:.0f} px")
    empty = [f for f in alignment.frames
             if all(e.flag == "no_face" for e in alignment.faces[f])]
    if empty:
        print(f"no face in {len(empty)} frame(s): {format_frames(empty)}")
    print(f"wrote {args.out}: {len(alignment.frames)} frames, tracks "
          f"{', '.join(map(str, alignment.track_ids)) or 'none'}")
    return 0
