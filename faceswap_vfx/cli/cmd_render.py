"""``faceswap-vfx render``: swap a face into an EXR plate sequence (farm-ready)."""

from __future__ import annotations

import argparse
import logging

from faceswap_vfx.cli.params_cli import add_param_flags, params_from_args

EXAMPLE = """example:
  faceswap-vfx render --plates 'shot010/plate.####.exr' --model runs/shot010 \\
      --identity grace --out 'shot010/swap/swap.####.exr' --align shot010.align.json \\
      --frames 1001-1010 --plate-levels 2 --mask-grow 4

Frames whose output already exists are skipped (use --overwrite). Each frame prints
'Progress: NN%'. Exit 0 only when every frame of the chunk is written."""

log = logging.getLogger("faceswap_vfx.render")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "render", help="swap a face into a plate sequence",
        description="Swap the face of a plate sequence for a trained identity: align (or read "
                    "an alignment file), run the network on each face crop, warp the face "
                    "back and blend it in with the multi-band blend. Pixels outside the face "
                    "mask, other channels and metadata pass through unchanged; the mask is "
                    "written to the 'faceswap.mask' channel.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--plates", required=True, help="plate pattern, e.g. plate.####.exr")
    p.add_argument("--out", required=True, help="output pattern, e.g. swap.####.exr")
    p.add_argument("--align", help="alignment file from 'faceswap-vfx align' (else: detect)")
    p.add_argument("--frames", help="frames to render, e.g. 1001-1010 (default: all on disk)")
    p.add_argument("--overwrite", action="store_true", help="re-render frames already written")
    p.add_argument("--force-align", action="store_true",
                   help="use --align even if it was made for another plate name or frames "
                        "(the plate size must still match)")
    add_param_flags(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from faceswap_vfx.face.align_file import load_alignment
    from faceswap_vfx.io.atomic import ensure_writable_dir
    from faceswap_vfx.io.image import read_header
    from faceswap_vfx.io.output_guard import check_not_inputs, check_output_pattern
    from faceswap_vfx.io.sequence import FramePattern, ImageSequence
    from faceswap_vfx.render.job import render_sequence, swap_graph
    from faceswap_vfx.render.model_source import load_swap_model, resolve_device

    params = params_from_args(args)
    ensure_writable_dir(FramePattern.parse(args.out).path(0).parent)
    device = resolve_device(params["device"])
    model = load_swap_model(params["model"], params["identity"], device,
                            expression_direction=params["expression_direction"],
                            expression_strength=params["expression_strength"])
    if params["working_colorspace"] != model.colorspace:
        log.info("working colour space %s (the model's)", model.colorspace)
        params["working_colorspace"] = model.colorspace
    plates = ImageSequence.find(args.plates, args.frames)
    check_output_pattern(args.out, plates.frames + plates.missing)
    check_not_inputs(args.out, plates.frames + plates.missing,
                     {"--plates": args.plates, "--align": args.align, "--matte": params["matte"],
                      "--model": params["model"]})
    if args.align:
        alignment = load_alignment(args.align)
        first = plates.frames[0]
        spec = read_header(plates.path(first), first)[0]
        size = (spec.full_width, spec.full_height)
        if args.force_align:
            alignment.check_plate(size, args.align)
        else:
            alignment.check_shot(args.plates, plates.frames, size, args.align)
    else:
        from faceswap_vfx.face.pipeline import align_sequence

        log.info("no --align: detecting faces on %d frames", len(plates))
        alignment = align_sequence(plates, params)
    matte = ImageSequence.find(params["matte"], args.frames) if params["matte"] else None
    graph = swap_graph(plates, alignment, model.generate, args.out, params,
                       resolution=model.resolution, device=device, matte=matte)
    report = render_sequence(graph, plates.frames, args.out, params, overwrite=args.overwrite,
                             missing=plates.missing)
    print(report.summary(), flush=True)
    return 0 if report.ok else 1
