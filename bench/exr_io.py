"""EXR reads and writes of 4096x2160 plates through OpenImageIO alone against the OpenEXR
path (:mod:`faceswap_vfx.io.exr`), measured in the same run.

    python bench/exr_io.py                           # 2 frames, 5 rounds, 2 codec threads
    python bench/exr_io.py --threads 1 --repeat 9 --compression piz

The plates are ``render_shot.write_plates``' (ZIP by default): half R, G, B, A and three
AOV channels, float Z. ``read``: ``read_image`` of every channel; ``write``: ``write_image``
of what was read (every channel and attribute). Each round runs the four cases in turn
(oiio and openexr interleaved, so that other load on the machine spreads over both) on
every frame; the medians over rounds x frames are compared (ratio > 1: OpenEXR is faster).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import render_shot

from faceswap_vfx.io.image import read_image, set_codec_threads, write_image

SIZE = (2160, 4096)
BACKENDS = ("oiio", "openexr")


def timed(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[float, Any]:
    """(seconds, result) of one call."""
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=5, help="rounds")
    parser.add_argument("--threads", type=int, default=2, help="codec threads, 0: one per core")
    parser.add_argument("--compression", default="zip")
    args = parser.parse_args()
    set_codec_threads(args.threads)
    times: dict[tuple[str, str], list[float]] = {(op, b): [] for op in ("read", "write")
                                                 for b in BACKENDS}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        frames = list(range(1001, 1001 + args.frames))
        render_shot.write_plates(folder, frames, SIZE, args.compression)
        paths = [folder / f"plate.{f}.exr" for f in frames]
        for _ in range(args.repeat):
            for path in paths:
                for backend in BACKENDS:
                    seconds, image = timed(read_image, path, backend=backend)
                    times["read", backend].append(seconds)
                    seconds, _ = timed(write_image, image, folder / f"out.{backend}.exr",
                                       backend=backend)
                    times["write", backend].append(seconds)
    n = args.frames * args.repeat
    print(f"{SIZE[1]}x{SIZE[0]} {args.compression} EXR, 7 half + 1 float channels, "
          f"{args.threads} codec threads, median of {n} per case")
    for op in ("read", "write"):
        old, new = (statistics.median(times[op, b]) for b in BACKENDS)
        print(f"  {op:5s}  oiio {old * 1e3:6.0f} ms   openexr {new * 1e3:6.0f} ms   "
              f"ratio {old / new:4.1f}x")


if __name__ == "__main__":
    main()
