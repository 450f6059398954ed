"""``faceswap-vfx blend``: the multi-band blend of one sequence into another, on its own."""

from __future__ import annotations

import argparse

from faceswap_vfx.cli.params_cli import add_param_flags, params_from_args

EXAMPLE = """example:
  faceswap-vfx blend --source 'face/face.####.exr' --target 'plate/plate.####.exr' \\
      --mask 'roto/roto.####.exr' --out 'comp/comp.####.exr' --frames 1001-1100 \\
      --plate-levels 2 --mask-sigma 2 --edge-feather 4

A pattern without a frame token is the same file for every frame (e.g. a still mask).
The output is the target with R, G, B blended (unchanged wherever the final mask is 0);
every other channel and all metadata of the target pass through. Frames whose output
exists are skipped (use --overwrite); each frame prints 'Progress: NN%'; exit 0 only when
every frame is written."""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "blend", help="multi-band blend a source sequence into a target under a mask",
        description="Blend the source into the target with the multi-band blend of "
                    "Naruniec et al. 2020 (Algorithm 1): inside the mask the coarsest "
                    "--plate-levels pyramid levels come from the target (its light), the "
                    "finer ones from the source (its detail).",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--source", required=True, help="source pattern (its R, G, B are used)")
    p.add_argument("--target", required=True, help="target (plate) pattern, e.g. plate.####.exr")
    p.add_argument("--mask", required=True, help="mask pattern (one channel is used)")
    p.add_argument("--mask-channel", help="channel of the mask (default: A, else the first)")
    p.add_argument("--out", required=True, help="output pattern, e.g. comp.####.exr")
    p.add_argument("--frames", help="frames, e.g. 1001-1100 (default: the target's on disk)")
    p.add_argument("--overwrite", action="store_true", help="re-blend frames already written")
    add_param_flags(p, "colour", "blend")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from faceswap_vfx.io.atomic import ensure_writable_dir
    from faceswap_vfx.io.output_guard import check_not_inputs, check_output_pattern
    from faceswap_vfx.io.sequence import FramePattern, ImageSequence
    from faceswap_vfx.render.blend_job import blend_graph
    from faceswap_vfx.render.job import render_sequence

    params = params_from_args(args)
    ensure_writable_dir(FramePattern.parse(args.out).path(0).parent)
    targets = ImageSequence.find(args.target, args.frames)
    check_output_pattern(args.out, targets.frames + targets.missing)
    check_not_inputs(args.out, targets.frames + targets.missing,
                     {"--source": args.source, "--target": args.target, "--mask": args.mask,
                      "--matte": params["matte"]})
    graph = blend_graph(args.target, args.source, args.mask, args.out,
                        mask_channel=args.mask_channel, matte=params["matte"] or None)
    report = render_sequence(graph, targets.frames, args.out, params, overwrite=args.overwrite,
                             missing=targets.missing)
    print(report.summary(), flush=True)
    return 0 if report.ok else 1
