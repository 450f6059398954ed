"""``faceswap-vfx latent``: the latent-space tools on their own (direction, interpolate)."""

from __future__ import annotations

import argparse

EXAMPLE = """example:
  faceswap-vfx latent direction runs/ab --from crops/neutral/ --to crops/smiling/ \\
      --name smile --out smile.direction.json
  faceswap-vfx render ... --expression-direction smile.direction.json --expression-strength 0.8
  faceswap-vfx latent interpolate runs/ab stranger/a.exr stranger/b.exr --out lerp.png

Groups and anchors are aligned crops: dataset folders (faceswap-vfx extract), folders of
crop images, or single crop files, in the model's working colour space."""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "latent", help="latent directions (expression edits) and interpolation",
        description="Tools on the shared latent space of a trained comb network. 'direction' "
                    "writes the mean latent of one group of aligned faces minus that of "
                    "another (e.g. smiling minus neutral) as a small versioned file, used at "
                    "render time with --expression-direction and --expression-strength. "
                    "'interpolate' decodes nine points between two anchors' latents with "
                    "every identity's head into one image grid (PNG).",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="tool", metavar="TOOL", required=True)
    d = sub.add_parser("direction", help="a latent direction from two groups of aligned faces",
                       epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    d.add_argument("run", help="run folder (its newest checkpoint) or a checkpoint file")
    d.add_argument("--from", dest="group_from", required=True, metavar="GROUP",
                   help="aligned faces without the expression (dataset, folder or file)")
    d.add_argument("--to", dest="group_to", required=True, metavar="GROUP",
                   help="aligned faces with the expression")
    d.add_argument("--name", default="", help="what the direction does, e.g. smile")
    d.add_argument("--out", required=True, help="the direction file (*.direction.json)")
    d.set_defaults(func=run_direction)
    i = sub.add_parser("interpolate", help="decode the line between two anchors' latents",
                       epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    i.add_argument("run", help="run folder (its newest checkpoint) or a checkpoint file")
    i.add_argument("anchors", nargs=2, metavar="ANCHOR", help="two aligned crop files")
    i.add_argument("--steps", type=int, default=9, help="points from 0 to 1 (default 9)")
    i.add_argument("--out", required=True, help="the grid PNG: anchors either side, one row "
                                                "per identity")
    i.set_defaults(func=run_interpolate)


def run_direction(args: argparse.Namespace) -> int:
    from faceswap_vfx.eval.data import load_crops
    from faceswap_vfx.eval.latent import expression_direction, save_direction
    from faceswap_vfx.eval.network import load_network

    net = load_network(args.run)
    a = load_crops(args.group_from, net.resolution)
    b = load_crops(args.group_to, net.resolution)
    d = expression_direction(net, a.images, b.images, args.name,
                             {"run": str(args.run), "from": str(args.group_from),
                              "to": str(args.group_to)})
    save_direction(d, args.out)
    print(f"{args.out}: '{d.name}' from {len(a)} and {len(b)} crops, |d| = "
          f"{float(d.vector.norm()):.4f} ({d.latent} values)")
    return 0


def run_interpolate(args: argparse.Namespace) -> int:
    import torch

    from faceswap_vfx.eval.data import load_crops
    from faceswap_vfx.eval.latent import interpolate
    from faceswap_vfx.eval.network import load_network
    from faceswap_vfx.eval.report import Grid, Tile, grid_image
    from faceswap_vfx.io.image import Image, write_image

    net = load_network(args.run)
    a, b = (load_crops(x, net.resolution) for x in args.anchors)
    lerp = interpolate(net, torch.cat([a.images[:1], b.images[:1]]), args.steps)
    grid = Grid("interpolation", "", ["a", *(f"{v:g}" for v in lerp.lambdas.tolist()), "b"])
    for ident, row in lerp.rows.items():
        grid.rows.append((ident, [Tile(lerp.anchors[0]), *(Tile(x) for x in row),
                                  Tile(lerp.anchors[1])]))
    write_image(Image.from_array(grid_image(grid)), args.out)
    print(f"{args.out}: rows {', '.join(lerp.rows)}; lambda "
          f"{', '.join(f'{v:.3g}' for v in lerp.lambdas.tolist())}")
    return 0
