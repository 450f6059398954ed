"""The multi-band blend of a 1024^2 face ROI into a 4096x2160 float plate, against OpenCV
and against memory bandwidth, all measured in this run.

    pip install -e .[bench]         # opencv-python-headless
    python bench/blend_vs_opencv.py                  # ours/OpenCV at 1 and 2 threads
    python bench/blend_vs_opencv.py --threads 2 --repeat 15

* ours: the face blended into the plate: the plate's ROI and the face as tensor views (no
  copy), :func:`~faceswap_vfx.core.blend.multiband_blend` (10 levels, plate_levels 2)
  writing straight into the plate (``out=`` the ROI view). It runs the compiled CPU
  kernel when it is built (the line "implementation" says which ran). ``ours, copied
  back``: the blend into a new array, then copied into the plate (as the render does, whose
  final soft edge needs the plate's values after the blend); ``ours (torch)``: that on the
  torch path (``FACESWAP_VFX_BLEND=torch``), for comparison.
* opencv: ``cv2.detail.MultiBandBlender`` on the same ROI with the same band count (its
  ``num_bands`` 9 = 10 levels), feeding the face under the mask and the plate under its
  complement. It takes int16 pixels only, so its inputs are converted beforehand (not
  timed: the figure is in its favour); ``opencv+io`` adds the float <-> int16 conversions
  a float plate needs and the write-back.
* bound: a plain numpy copy of as many bytes as the blend must move at least: read the
  inputs and write the output once. ``frame``: the output is the whole 4K plate (a new
  frame: plate + face + mask in, plate out); ``roi``: the output is the ROI alone (plate
  ROI + face + mask in, ROI out), the stricter figure.

Every case runs interleaved with the others ``--repeat`` times; the medians are compared
(ratios > 1: ours is faster). Goals (issue 5): ours >= 3x faster than OpenCV, and <= 3x the
bandwidth bound.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch

from faceswap_vfx.core import blend_kernel
from faceswap_vfx.core.blend import (
    IMPLEMENTATION_ENV,
    blend_levels,
    implementation,
    multiband_blend,
)

PLATE = (2160, 4096)
FACE = 1024
ORIGIN = (600, 1500)  # ROI top-left (row, column)


def inputs(seed: int = 0) -> dict[str, np.ndarray]:
    """Plate (H, W, 3) scene-linear HDR with grain, face (1024, 1024, 3), mask (1024, 1024):
    an ellipse of 0/1, as the render's hard landmark mask."""
    rng = np.random.default_rng(seed)
    h, w = PLATE
    ramp = np.linspace(0.05, 4.0, w, dtype=np.float32)[None, :, None]
    plate = (ramp * np.linspace(0.5, 1.0, h, dtype=np.float32)[:, None, None]
             * np.array([1.0, 0.9, 0.8], np.float32))
    plate = plate + 0.01 * rng.standard_normal((h, w, 3), np.float32)
    face = (0.3 + 0.2 * rng.random((FACE, FACE, 3), np.float32))
    yy, xx = np.mgrid[0:FACE, 0:FACE] + 0.5
    mask = ((yy - 540) / 420) ** 2 + ((xx - 512) / 330) ** 2 < 1
    return {"plate": np.ascontiguousarray(plate), "face": face, "mask": mask.astype(np.float32)}


def tensors(data: dict[str, np.ndarray]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(source, target, mask) as the render passes them: views of the face, the plate's
    ROI (channels-last, the plate's row stride) and the mask."""
    roi = np.s_[ORIGIN[0]:ORIGIN[0] + FACE, ORIGIN[1]:ORIGIN[1] + FACE]
    return (torch.from_numpy(data["face"]).permute(2, 0, 1)[None],
            torch.from_numpy(data["plate"][roi]).permute(2, 0, 1)[None],
            torch.from_numpy(data["mask"])[None, None])


def ours(data: dict[str, np.ndarray], levels: int, force_torch: bool = False,
         in_place: bool = False) -> Callable[[], None]:
    plate = data["plate"]
    roi = np.s_[ORIGIN[0]:ORIGIN[0] + FACE, ORIGIN[1]:ORIGIN[1] + FACE]

    def run() -> None:
        s, t, m = tensors(data)
        if in_place:
            multiband_blend(s, t, m, plate_levels=2, mask_sigma=2.0, levels=levels, out=t)
            return
        before = os.environ.get(IMPLEMENTATION_ENV)
        if force_torch:
            os.environ[IMPLEMENTATION_ENV] = "torch"
        try:
            out = multiband_blend(s, t, m, plate_levels=2, mask_sigma=2.0, levels=levels)
        finally:
            if before is None:
                os.environ.pop(IMPLEMENTATION_ENV, None)
            else:
                os.environ[IMPLEMENTATION_ENV] = before
        plate[roi] = out[0].permute(1, 2, 0).numpy()

    return run


def opencv(data: dict[str, np.ndarray], levels: int, io: bool) -> Callable[[], None]:
    import cv2

    plate, face, mask = data["plate"], data["face"], data["mask"]
    roi = np.s_[ORIGIN[0]:ORIGIN[0] + FACE, ORIGIN[1]:ORIGIN[1] + FACE]
    scale = 4000.0  # int16 holds 0..8 at this scale: HDR above that would clip
    face16 = np.round(face * scale).astype(np.int16)
    plate16 = np.round(plate[roi] * scale).astype(np.int16)
    m8 = np.round(mask * 255).astype(np.uint8)
    inv8 = 255 - m8

    def run() -> None:
        s16, t16 = face16, plate16
        if io:
            s16 = np.round(face * scale).astype(np.int16)
            t16 = np.round(plate[roi] * scale).astype(np.int16)
        blender = cv2.detail.MultiBandBlender(0, levels - 1, cv2.CV_32F)
        blender.prepare((0, 0, FACE, FACE))
        blender.feed(s16, m8, (0, 0))
        blender.feed(t16, inv8, (0, 0))
        result, _ = blender.blend(None, None)
        if io:
            plate[roi] = result.astype(np.float32) / scale

    return run


def copy_of(nbytes: int) -> Callable[[], None]:
    src = np.ones(nbytes // 4, np.float32)
    dst = np.empty_like(src)
    return lambda: np.copyto(dst, src)


def measure(cases: dict[str, Callable[[], None]], repeat: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in cases}
    for fn in cases.values():  # warm up (allocator, OpenCV's first call)
        fn()
    for _ in range(repeat):
        for name, fn in cases.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    import cv2

    data = inputs()
    levels = blend_levels(FACE, FACE)
    plate_bytes = data["plate"].nbytes
    roi_bytes = FACE * FACE * 3 * 4
    in_bytes = data["face"].nbytes + data["mask"].nbytes
    print(f"plate {PLATE[1]}x{PLATE[0]}x3 float32, face ROI {FACE}^2, {levels} levels "
          f"(plate_levels 2), torch {torch.__version__}, OpenCV {cv2.__version__}")
    used = implementation(*tensors(data))
    isa = blend_kernel.instruction_set()
    print(f"implementation: ours = {used}" + (f" ({isa})" if used == "kernel" else "")
          + ("" if blend_kernel.available() else " (the compiled kernel is not built)"))
    for threads in args.threads:
        torch.set_num_threads(threads)
        cv2.setNumThreads(threads)
        cases = {
            "ours": ours(data, levels, in_place=True),
            "ours, copied back": ours(data, levels),
            "ours (torch)": ours(data, levels, force_torch=True),
            "opencv": opencv(data, levels, io=False),
            "opencv+io": opencv(data, levels, io=True),
            "bound frame": copy_of((plate_bytes + in_bytes + plate_bytes) // 2),
            "bound roi": copy_of((roi_bytes + in_bytes + roi_bytes) // 2),
        }
        times = measure(cases, args.repeat)
        med = {k: statistics.median(v) for k, v in times.items()}
        best = {k: min(v) for k, v in times.items()}
        print(f"\n{threads} thread(s), median (best) of {args.repeat}:")
        for name in cases:
            print(f"  {name:<17} {1e3 * med[name]:8.1f} ms ({1e3 * best[name]:.1f})")
        for name in ("ours", "ours, copied back", "ours (torch)"):
            print(f"  {name}:")
            print(f"    opencv / it       {med['opencv'] / med[name]:5.2f}x faster "
                  f"(best {best['opencv'] / best[name]:.2f}; goal >= 3)")
            print(f"    opencv+io / it    {med['opencv+io'] / med[name]:5.2f}x faster")
            print(f"    it / bound frame  {med[name] / med['bound frame']:5.2f}x the bound "
                  f"(best {best[name] / best['bound frame']:.2f}; goal <= 3)")
            print(f"    it / bound roi    {med[name] / med['bound roi']:5.2f}x the bound")


if __name__ == "__main__":
    main()
