"""Render throughput on a 4096x2160 half EXR sequence (ZIP, R, G, B plus A, Z and three
AOV channels) against the EXR bound measured in the same run.

    python bench/render_throughput.py                      # 4 frames, 2 rounds
    python bench/render_throughput.py --frames 8 --face-px 1200 --codec-threads 2
    python bench/render_throughput.py --headline --rounds 30 --frames 6   # the goal alone
    python bench/render_throughput.py --headline --rounds 30 --frames 6 --network-off-cores

* bound: the same frames only read and written back (every channel and attribute, the
  same compression, codec threads and stage overlap: ``render_sequence`` with a graph of
  ReadPlate -> WritePlate); ``bound, the render's frames``: the plates read and the very frames
  the render writes written (the face's pixels, the mask channel and the render's
  attributes, kept from a first render, pasted into each plate as read; the script checks
  that the files come out bit for bit the render's); ``bound, one after the other``: a
  plain loop of ``read_image`` + ``write_image``.
* render: the real swap (``swap_graph``: alignment file, 256 px width 0.25 comb network on
  the CPU, inverse warp, multi-band blend) with the stages overlapped (prefetch 1, 2 writer
  threads, the default) and one after the other. ``--network-off-cores``: the same render
  with the crop standing for the generated face, so the network's compute leaves the CPU
  cores to the codecs, as when a GPU runs it (the bound is then that render's own frames).

Rounds alternate between the cases so that other load on the machine spreads over all of
them, in one order on even rounds and the reverse on odd ones (a load that grows or fades
over a pair of rounds hits both sides alike). Two statistics: the best round of each case
against the best of the other (noise only slows a case), and the median over rounds of each
round's own ratio (the cases of one round ran within a minute of each other, so slow spells
of the shared host hit both sides), with a 90 % bootstrap interval of that median.
Each case's CPU time per frame (every thread of the process, median of rounds) is printed
too: with the codecs keeping every core busy, the throughput ratio tends to the ratio of
CPU times, which waiting for a core on a loaded host does not inflate.

Goal (issue 5): render >= 0.9x the EXR bound. The headline bound is that of the frames the
render writes (``bound, the render's frames``: the plates read, the frames the render wrote
written, its mask channel included, which the issue asks for in every output frame);
``bound`` (the plates copied unchanged) is printed too.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import render_shot
import torch

from faceswap_vfx import params as schema
from faceswap_vfx.core.mask import bounding_box
from faceswap_vfx.io.image import read_image, set_codec_threads, write_image
from faceswap_vfx.io.sequence import FramePattern, ImageSequence
from faceswap_vfx.render.frame import MASK_CHANNEL
from faceswap_vfx.render.graph import Graph
from faceswap_vfx.render.job import render_sequence, swap_graph
from faceswap_vfx.render.memory import zeros_for_sparse_writes
from faceswap_vfx.render.model_source import load_swap_model
from faceswap_vfx.render.nodes import Node, ReadPlate, WritePlate

RENDERED = "bound, the render's frames"
"""The headline case: the plates read, the frames the render wrote written."""


@dataclass
class Patch:
    """What a render changed in one frame: its R, G, B and ``faceswap.mask`` over the box
    ``slices`` holding every pixel it changed, and its header attributes."""

    slices: tuple[slice, slice]
    channels: dict[str, np.ndarray]
    attributes: list


def rendered_patches(pattern: str, frames: list[int]) -> dict[int, Patch]:
    """Each frame's :class:`Patch`, read back from the render's output: the box of its
    mask's nonzero pixels (a render changes R, G, B only where its mask is > 0)."""
    patches = {}
    for f in frames:
        part = read_image(FramePattern.parse(pattern).path(f), f).part
        box = bounding_box(part.channels[MASK_CHANNEL])
        if box is None:
            raise RuntimeError(f"frame {f} of {pattern}: the render swapped no face")
        patches[f] = Patch(box, {n: part.channels[n][box].copy()
                                 for n in ("R", "G", "B", MASK_CHANNEL)},
                           list(part.attributes))
    return patches


class PassThrough(Node):
    """The plate as the frame to write: unchanged, or with ``patches``, made into the very
    frame the render wrote (its pixels, mask channel and attributes pasted in; checked by
    :func:`check_same_frames`)."""

    inputs = ("image",)
    outputs = ("blended",)

    def __init__(self, patches: dict[int, Patch] | None = None):
        self.patches = patches or {}

    def run(self, values, params):
        part = values["image"].part
        patch = self.patches.get(values["frame"])
        if patch is not None:
            part.channels[MASK_CHANNEL] = zeros_for_sparse_writes(
                part.shape, patch.channels[MASK_CHANNEL].dtype)  # as the render makes it
            for name, pixels in patch.channels.items():
                part.channels[name][patch.slices] = pixels
            part.attributes = list(patch.attributes)
        return {"blended": values["image"]}


def check_same_frames(a: str, b: str, frames: list[int]) -> None:
    """Raise RuntimeError, naming the frame and what differs, unless two output sequences
    hold the same frames: channels (order, type, bits) and attributes."""
    for f in frames:
        pa, pb = (read_image(FramePattern.parse(x).path(f), f).part for x in (a, b))
        if list(pa.channels) != list(pb.channels):
            raise RuntimeError(f"frame {f}: channels {list(pa.channels)} != {list(pb.channels)}")
        if [(x.name, x.value) for x in pa.attributes] != [(x.name, x.value)
                                                         for x in pb.attributes]:
            raise RuntimeError(f"frame {f}: the attributes differ")
        for name, pixels in pa.channels.items():
            other = pb.channels[name]
            if pixels.dtype != other.dtype or not np.array_equal(
                    pixels.view(f"u{pixels.itemsize}"), other.view(f"u{other.itemsize}")):
                raise RuntimeError(f"frame {f}: channel {name} differs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--size", type=int, nargs=2, default=(2160, 4096), metavar=("H", "W"))
    parser.add_argument("--face-px", type=float, default=900.0, help="face crop in plate px")
    parser.add_argument("--codec-threads", type=int, default=0, help="0: one per core")
    parser.add_argument("--torch-threads", type=int, default=0, help="0: torch's own")
    parser.add_argument("--network-off-cores", action="store_true",
                        help="the render without the network's compute (its input crop "
                             "stands for the generated face), as when a GPU runs it: what "
                             "the rest of the render costs against the bound")
    parser.add_argument("--work", type=Path, help="folder for the shot (default: a temp one)")
    parser.add_argument("--headline", action="store_true",
                        help=f"time only the render and {RENDERED!r} (shorter rounds, so "
                             "more of them pair up in the same minute)")
    args = parser.parse_args()
    set_codec_threads(args.codec_threads)
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    with tempfile.TemporaryDirectory() as tmp:
        run(args.work or Path(tmp), args)


def median_interval(values: list[float], level: float = 0.9, draws: int = 10000,
                    seed: int = 0) -> tuple[float, float]:
    """The percentile bootstrap interval of the median of ``values``: the central
    ``level`` of the medians of ``draws`` resamples (with replacement)."""
    x = np.asarray(values, np.float64)
    resampled = np.random.default_rng(seed).choice(x, size=(draws, x.size))
    medians = np.median(resampled, axis=1)
    lo, hi = np.quantile(medians, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def run(work: Path, args: argparse.Namespace) -> None:
    frames = list(range(1001, 1001 + args.frames))
    size = tuple(args.size)
    plates = render_shot.write_plates(work / "plate", frames, size)
    alignment = render_shot.write_alignment(work / "shot.align.json", plates, frames, size,
                                            args.face_px)
    model = load_swap_model(render_shot.write_model(work), "b")
    params = schema.resolve({"identity": "b", "working_colorspace": model.colorspace})
    seq = ImageSequence.find(plates)
    out = str(work / "out" / "f.####.exr")
    generate = (lambda crops: crops.clone()) if args.network_off_cores else model.generate
    swap = swap_graph(seq, alignment, generate, out, params, resolution=model.resolution)
    copy = Graph([ReadPlate(seq), PassThrough(), WritePlate(out)])

    def sequence(graph: Graph, **stages) -> Callable[[], None]:
        def go() -> None:
            report = render_sequence(graph, frames, out, params, overwrite=True,
                                     progress=None, **stages)
            assert report.ok and not report.no_face, report.summary()
        return go

    def plain_copy() -> None:
        pattern = FramePattern.parse(out)
        for f in frames:
            write_image(read_image(seq.path(f), f), pattern.path(f), f)

    sequence(swap)()  # warm-up, and the frames the bound below writes again
    patches = rendered_patches(out, frames)
    with_mask = Graph([ReadPlate(seq), PassThrough(patches), WritePlate(out)])
    check = str(work / "check" / "f.####.exr")
    render_sequence(Graph([ReadPlate(seq), PassThrough(patches), WritePlate(check)]), frames,
                    check, params, overwrite=True, progress=None)
    check_same_frames(out, check, frames)
    cases = {"bound": sequence(copy), "render": sequence(swap),
             RENDERED: sequence(with_mask),
             "bound, one after the other": plain_copy,
             "render, one after the other": sequence(swap, prefetch=0, writers=0)}
    if args.headline:
        cases = {name: cases[name] for name in ("render", RENDERED)}
    rounds: list[dict[str, float]] = []
    cpu: dict[str, list[float]] = {name: [] for name in cases}
    for i in range(args.rounds):
        rounds.append({})
        order = list(cases.items())
        for name, case in order if i % 2 == 0 else order[::-1]:
            t0, c0 = time.perf_counter(), time.process_time()
            case()
            rounds[-1][name] = (time.perf_counter() - t0) / len(frames)
            cpu[name].append((time.process_time() - c0) / len(frames))
    cpu_s = {name: statistics.median(v) for name, v in cpu.items()}
    best = {name: min(r[name] for r in rounds) for name in cases}
    import OpenImageIO as oiio

    print(f"{len(frames)} frames {size[1]}x{size[0]} half EXR, ZIP, channels R, G, B, "
          f"{', '.join(render_shot.EXTRA)}; face {args.face_px:g} px; codec threads "
          f"{oiio.get_int_attribute('threads')} (exr {oiio.get_int_attribute('exr_threads')}), "
          f"torch threads {torch.get_num_threads()}; best of {args.rounds} rounds"
          + ("; the network's compute off the cores (the crop stands for the face)"
             if args.network_off_cores else ""))
    for name, seconds in best.items():
        print(f"  {name:<28} {1e3 * seconds:7.0f} ms/frame  {1 / seconds:5.2f} frames/s  "
              f"CPU {1e3 * cpu_s[name]:5.0f} ms/frame")
    bounds = {RENDERED: "the frames the render writes", "bound": "the plates copied unchanged"}
    for bound, label in bounds.items():
        if bound not in cases:
            continue
        paired = [r[bound] / r["render"] for r in rounds]
        lo, hi = median_interval(paired)
        print(f"render / EXR bound of {label}: {best[bound] / best['render']:.2f}x best, "
              f"{statistics.median(paired):.2f}x median of rounds (90 % interval "
              f"{lo:.2f}-{hi:.2f}; rounds {', '.join(f'{x:.2f}' for x in paired)}) "
              f"(goal >= 0.9)")
    paired_cpu = [b / r for b, r in zip(cpu[RENDERED], cpu["render"], strict=True)]
    lo, hi = median_interval(paired_cpu)
    print(f"CPU time per frame, EXR bound of the frames the render writes / render: "
          f"{cpu_s[RENDERED] / cpu_s['render']:.2f}x (median of rounds "
          f"{statistics.median(paired_cpu):.2f}x, 90 % interval {lo:.2f}-{hi:.2f})")
    if args.headline:
        return
    print(f"CPU time per frame, the plates copied unchanged / render: "
          f"{cpu_s['bound'] / cpu_s['render']:.2f}x")
    print(f"one after the other, render / bound: "
          f"{best['bound, one after the other'] / best['render, one after the other']:.2f}x")
    print(f"the render's frames (its face and faceswap.mask channel) to write: "
          f"{best['bound'] / best[RENDERED]:.2f}x the bound")
    print(f"overlap gain: render {best['render, one after the other'] / best['render']:.2f}x, "
          f"bound {best['bound, one after the other'] / best['bound']:.2f}x")


if __name__ == "__main__":
    main()
