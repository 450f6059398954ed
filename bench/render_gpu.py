"""Render frames/s with the network on a device (a GPU when one is lent), against the two
bounds a render cannot beat, all measured in this run.

    python bench/render_gpu.py                       # CUDA, 1024 px width 1.0, 4K plates
    python bench/render_gpu.py --device cpu --resolution 64 --width 0.125 --size 540 1024

* render: the real swap (``swap_graph``: alignment file, exported comb network, inverse
  warp and multi-band blend on ``--device``), stages overlapped (the default), on a
  4096x2160 half EXR sequence (ZIP, R, G, B plus A, Z and three AOV channels; see
  ``render_shot.py``) with one face ``--face-px`` wide.
* EXR bound: the same frames only read and written back (every channel, the same codec
  threads and stage overlap: ``render_throughput.py``'s bound).
* GPU bound: the network alone on the device, one face per frame as the render runs it
  (``generate`` on a crop already on the device, synchronised): frames/s if nothing but
  the network took time.

Rounds alternate between the cases; the best round of each is compared. Issue 5 asks for
frames/s at 1024 px width 1.0 on a GPU and the fraction of the GPU bound.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import render_shot
import torch
from render_throughput import PassThrough

from faceswap_vfx import params as schema
from faceswap_vfx.io.image import set_codec_threads
from faceswap_vfx.io.sequence import ImageSequence
from faceswap_vfx.render.graph import Graph
from faceswap_vfx.render.job import render_sequence, swap_graph
from faceswap_vfx.render.model_source import load_swap_model
from faceswap_vfx.render.nodes import ReadPlate, WritePlate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--resolution", type=int, default=1024)
    parser.add_argument("--width", type=float, default=1.0, help="channel-width multiplier")
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--size", type=int, nargs=2, default=(2160, 4096), metavar=("H", "W"))
    parser.add_argument("--face-px", type=float, default=900.0, help="face crop in plate px")
    parser.add_argument("--codec-threads", type=int, default=0, help="0: one per core")
    args = parser.parse_args()
    set_codec_threads(args.codec_threads)
    with tempfile.TemporaryDirectory() as tmp:
        run(Path(tmp), args)


def network_seconds(generate, resolution: int, device: torch.device, repeat: int = 20
                    ) -> float:
    """Median seconds of one face through ``generate`` on ``device``, synchronised."""
    crop = torch.rand(1, 3, resolution, resolution, device=device)

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    for _ in range(3):  # warm-up: kernels chosen, memory pooled
        generate(crop)
    sync()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        generate(crop)
        sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run(work: Path, args: argparse.Namespace) -> None:
    device = torch.device(args.device)
    frames = list(range(1001, 1001 + args.frames))
    size = tuple(args.size)
    plates = render_shot.write_plates(work / "plate", frames, size)
    alignment = render_shot.write_alignment(work / "shot.align.json", plates, frames, size,
                                            args.face_px, crop_size=args.resolution)
    model_file = render_shot.write_model(work, args.resolution, args.width)
    model = load_swap_model(model_file, "b", device)
    params = schema.resolve({"identity": "b", "working_colorspace": model.colorspace})
    seq = ImageSequence.find(plates)
    out = str(work / "out" / "f.####.exr")
    cases = {
        "render": swap_graph(seq, alignment, model.generate, out, params,
                             resolution=model.resolution, device=device),
        "EXR bound": Graph([ReadPlate(seq), PassThrough(), WritePlate(out)]),
    }
    render_sequence(cases["render"], frames[:1], out, params, overwrite=True, progress=None)
    best = {name: float("inf") for name in cases}
    gpu = float("inf")
    for _ in range(args.rounds):
        for name, graph in cases.items():
            t0 = time.perf_counter()
            report = render_sequence(graph, frames, out, params, overwrite=True, progress=None)
            assert report.ok and not report.no_face, report.summary()
            best[name] = min(best[name], (time.perf_counter() - t0) / len(frames))
        gpu = min(gpu, network_seconds(model.generate, model.resolution, device))
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"{len(frames)} frames {size[1]}x{size[0]} half EXR (ZIP, 8 channels), face "
          f"{args.face_px:g} px; network {model.resolution} px width {args.width:g} on "
          f"{device} ({name}); best of {args.rounds} rounds")
    print(f"  render      {1e3 * best['render']:8.1f} ms/frame  {1 / best['render']:6.2f} frames/s")
    print(f"  EXR bound   {1e3 * best['EXR bound']:8.1f} ms/frame  "
          f"{1 / best['EXR bound']:6.2f} frames/s")
    print(f"  GPU bound   {1e3 * gpu:8.1f} ms/frame  {1 / gpu:6.2f} frames/s (network alone)")
    print(f"render / GPU bound: {gpu / best['render']:.2f}; render / EXR bound: "
          f"{best['EXR bound'] / best['render']:.2f} (goal >= 0.9); render / the lower bound: "
          f"{max(gpu, best['EXR bound']) / best['render']:.2f}")


if __name__ == "__main__":
    main()
