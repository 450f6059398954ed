"""``faceswap-vfx eval``: figures and pictures that say whether a model is ready."""

from __future__ import annotations

import argparse

EXAMPLE = """example:
  faceswap-vfx eval runs/ab --data alice=datasets/alice_test --data bob=datasets/bob_test \\
      --train-data alice=datasets/alice --train-data bob=datasets/bob \\
      --outside stranger=crops/stranger/ --direction smile.direction.json \\
      --render 'shot010/swap/swap.####.exr' --plates 'shot010/plate.####.exr' \\
      --out reports/ab
  faceswap-vfx eval --demo --out eval_demo     # the shipped demo model on bundled data

Writes REPORT/index.html (open it in a browser), REPORT/report.json (every figure) and
the image grids as PNG files."""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "eval", help="evaluate a trained model: metrics, JPEG baseline, latent-space grids",
        description="Evaluate a trained comb network: held-out aligned crops of each identity "
                    "through its own head (1-SSIM, 1-MS-SSIM, PSNR, L1, L2, whole crop and "
                    "face mask) against JPEG at the latent's byte size and at quality 85; "
                    "the flicker of a rendered sequence inside the face against the plate's "
                    "own; latent interpolation between two crops decoded by every head "
                    "(also for a person the model never saw); the nearest training image "
                    "of generated faces; an expression direction at several strengths.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", nargs="?", help="run folder (its newest checkpoint) or checkpoint")
    p.add_argument("--data", action="append", metavar="NAME=CROPS",
                   help="held-out aligned crops of identity NAME: a dataset folder, a folder "
                        "of crops or a crop file (repeat per identity)")
    p.add_argument("--out", required=True, metavar="REPORT_DIR", help="report folder")
    p.add_argument("--train-data", action="append", metavar="NAME=DATASET",
                   help="training images of NAME for the nearest-neighbour search (default: "
                        "the run's datasets when they are found)")
    p.add_argument("--outside", action="append", metavar="NAME=CROPS",
                   help="aligned crops of a person the model never saw (interpolation)")
    p.add_argument("--direction", metavar="FILE", help="a latent direction to show")
    p.add_argument("--render", metavar="PATTERN", help="a rendered sequence (faceswap-vfx "
                   "render output with its faceswap.mask channel)")
    p.add_argument("--plates", metavar="PATTERN", help="the plate of --render")
    p.add_argument("--frames", help="frames of --render to measure, e.g. 1001-1100")
    p.add_argument("--plate-colorspace", default="scene_linear",
                   help="OCIO colour space of the plate (default: scene_linear)")
    p.add_argument("--max-crops", type=int, default=64,
                   help="crops per identity, spread over each set (default 64)")
    p.add_argument("--examples", type=int, default=4, help="rows per image grid (default 4)")
    p.add_argument("--jpeg-quality", type=int, default=85,
                   help="the fixed-quality JPEG baseline (default 85)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                   help="where the network runs (auto: CUDA when present)")
    p.add_argument("--demo", action="store_true",
                   help="evaluate the shipped demo model on data made from the bundled "
                        "portraits (written under REPORT_DIR/demo_data; a few minutes)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from faceswap_vfx.errors import ParameterError
    from faceswap_vfx.eval.data import parse_named
    from faceswap_vfx.eval.evaluate import EvalSpec, evaluate
    from faceswap_vfx.render.model_source import resolve_device

    out = Path(args.out)
    if args.demo:
        from faceswap_vfx.demo.evaluation import prepare_demo

        spec = prepare_demo(out)
    else:
        if not args.run:
            raise ParameterError("give a RUN to evaluate (or --demo)")
        if bool(args.render) != bool(args.plates):
            raise ParameterError("--render and --plates go together")
        spec = EvalSpec(run=Path(args.run), out=out, data=parse_named(args.data, "--data"),
                        train_data=parse_named(args.train_data, "--train-data"),
                        outside=parse_named(args.outside, "--outside"),
                        direction=Path(args.direction) if args.direction else None,
                        render=args.render, plates=args.plates, frames=args.frames,
                        plate_colorspace=args.plate_colorspace)
    spec.max_crops, spec.examples, spec.jpeg_quality = (args.max_crops, args.examples,
                                                        args.jpeg_quality)
    spec.device = str(resolve_device(args.device))
    if not 1 <= spec.jpeg_quality <= 100:
        raise ParameterError(f"--jpeg-quality {spec.jpeg_quality} is not in 1..100")
    figures = evaluate(spec)
    for ident, rec in figures["reconstruction"].items():
        for method, figs in rec["figures"].items():
            psnr, ssim = figs["psnr"], figs["1-ssim"]
            print(f"{ident:>14} {method:<17} PSNR {psnr['crop']['mean']:6.2f} dB "
                  f"(mask {psnr['mask']['mean']:6.2f})  1-SSIM {ssim['crop']['mean']:.4f} "
                  f"(mask {ssim['mask']['mean']:.4f})")
    if figures.get("temporal"):
        t = figures["temporal"]["first"]
        print(f"flicker in the face: render {t['render']:.5f}, plate {t['plate']:.5f}, "
              f"ratio {t['ratio']:.3f}")
    print(f"report: {out / 'index.html'}")
    return 0
