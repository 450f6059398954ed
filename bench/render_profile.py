"""Where a render's time goes, per frame: read, align, network, warp, blend, write and the
rest (Python glue between them), on a 2048x1080 half EXR plate with a 256 px, width 0.25
comb network on the CPU.

    python bench/render_profile.py                       # 6 frames (1 warm-up)
    python bench/render_profile.py --frames 11 --threads 1 --face-px 600

The render is the real one (``render.job.swap_graph`` + ``render_sequence``, the alignment
read from its file) run with its stages one after the other on one thread (``prefetch 0,
writers 0``) so that each node's time is its own; each node is timed around its ``run``,
the network around the ``generate`` callable inside Swap (the rest of Swap, the crop, is a
warp). "rest" is the frame's wall time less all of those: graph dispatch, progress,
bookkeeping. The same frames are then rendered with the stages overlapped (the default)
for the wall time per frame. Goal (issue 5): rest < 10 %.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import render_shot
import torch

from faceswap_vfx import params as schema
from faceswap_vfx.face.align_file import load_alignment
from faceswap_vfx.io.sequence import ImageSequence
from faceswap_vfx.render.job import render_sequence, swap_graph
from faceswap_vfx.render.model_source import load_swap_model

CATEGORY = {"ReadPlate": "read", "ReadMatte": "read", "Align": "align", "Swap": "warp",
            "InverseWarp": "warp", "MultiBandBlend": "blend", "WritePlate": "write"}
ORDER = ("read", "align", "network", "warp", "blend", "write")


class Timers:
    """Seconds per category, network time taken out of the Swap node's."""

    def __init__(self):
        self.seconds: dict[str, float] = defaultdict(float)

    def wrap(self, fn: Callable, category: str, inside: str | None = None) -> Callable:
        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                dt = time.perf_counter() - t0
                self.seconds[category] += dt
                if inside:  # time counted again in an enclosing category: take it out there
                    self.seconds[inside] -= dt
        return timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=6, help="frames (the first warms up)")
    parser.add_argument("--size", type=int, nargs=2, default=(1080, 2048), metavar=("H", "W"))
    parser.add_argument("--face-px", type=float, default=450.0, help="face crop in plate px")
    parser.add_argument("--resolution", type=int, default=256)
    parser.add_argument("--width", type=float, default=0.25)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: its own)")
    parser.add_argument("--work", type=Path, help="folder for the shot (default: a temp one)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        profile(work, args)


def profile(work: Path, args: argparse.Namespace) -> None:
    frames = list(range(1001, 1001 + args.frames))
    size = tuple(args.size)
    plates = render_shot.write_plates(work / "plate", frames, size)
    render_shot.write_alignment(work / "shot.align.json", plates, frames, size, args.face_px)
    t0 = time.perf_counter()
    alignment = load_alignment(work / "shot.align.json")
    load_s = time.perf_counter() - t0
    model = load_swap_model(render_shot.write_model(work, args.resolution, args.width), "b")
    params = schema.resolve({"identity": "b", "working_colorspace": model.colorspace})
    timers = Timers()
    generate = timers.wrap(model.generate, "network", inside="warp")
    out = str(work / "swap" / "swap.####.exr")
    graph = swap_graph(ImageSequence.find(plates), alignment, generate, out, params,
                       resolution=model.resolution)
    for node in graph.nodes:
        node.run = timers.wrap(node.run, CATEGORY[type(node).__name__])
        if hasattr(node, "blend"):  # MultiBandBlend: its Algorithm 1 apart from the rest
            node.blend = timers.wrap(node.blend, "multiband_blend")

    def render(todo: list[int], **stages) -> float:
        t0 = time.perf_counter()
        report = render_sequence(graph, todo, out, params, overwrite=True, progress=None,
                                 **stages)
        assert report.ok and not report.no_face, report.summary()
        return time.perf_counter() - t0

    render(frames[:1], prefetch=0, writers=0)  # warm-up: first calls, allocator
    timers.seconds.clear()
    measured = frames[1:]
    wall = render(measured, prefetch=0, writers=0) / len(measured)
    per = {k: v / len(measured) for k, v in timers.seconds.items()}
    rest = wall - sum(per[k] for k in ORDER)
    overlapped = render(measured) / len(measured)
    print(f"plate {size[1]}x{size[0]} half EXR (R, G, B, {', '.join(render_shot.EXTRA)}; ZIP), "
          f"face {args.face_px:g} px, network {args.resolution} px width {args.width:g} on "
          f"CPU, torch threads {torch.get_num_threads()}; {len(measured)} frames measured")
    print(f"alignment file read once per render: {1e3 * load_s:.1f} ms")
    print(f"\nper frame, stages one after the other: {1e3 * wall:.0f} ms")
    for name in (*ORDER, "rest"):
        seconds = rest if name == "rest" else per[name]
        print(f"  {name:<8} {1e3 * seconds:8.1f} ms  {100 * seconds / wall:5.1f} %")
    print(f"  (of blend: multiband_blend {1e3 * per['multiband_blend']:.1f} ms)")
    print(f"rest (Python glue) {100 * rest / wall:.1f} % (goal < 10 %)")
    print(f"\nper frame, stages overlapped (prefetch 1, 2 writers): {1e3 * overlapped:.0f} ms "
          f"({wall / overlapped:.2f}x the throughput)")


if __name__ == "__main__":
    main()
