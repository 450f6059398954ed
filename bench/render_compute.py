"""The per-face compute of a 4K render, each piece against the path it replaced, measured
in the same run: the antialiased crop of the face's ROI down to the network's size (C
blur fused into the C warp's packing vs torch's blur and gathers; the bilinear crop with
the C blur), the Keys bicubic warp of the generated crop into its ROI (C kernel vs torch
gathers; the kernel's AVX code, picked at run time, vs its baseline code), the warp's
coverage (from the matrix vs warping an image of ones), the landmark polygon's raster
(scanline fill vs scikit-image's ``polygon2mask``), the final alpha's feather (the compiled
plane blur vs scipy's ``gaussian_filter``, the same bits) and the network (the render's rewrite,
:mod:`faceswap_vfx.model.inference`, vs the exported module as it is; that one in
channels-last vs NCHW memory).

    python bench/render_compute.py                  # torch's threads
    python bench/render_compute.py --threads 1 --repeat 15

Cases run interleaved ``--repeat`` times; medians are compared (ratio > 1: the new path
is faster). The sizes are the render's for a 900 px face on a 4096x2160 plate: a 944 px
ROI of the plate (channels-last, as read) cropped to 256 px (border padding, Gaussian
prefilter sigma ~1.7 px), a 256 px crop warped into the ROI, a 256 px width-0.25 comb
network.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import render_shot
import torch
from scipy import ndimage
from skimage.draw import polygon2mask

from faceswap_vfx.core import warp_kernel
from faceswap_vfx.core.mask import feather, polygon_mask
from faceswap_vfx.core.warp import warp_affine
from faceswap_vfx.render.model_source import load_swap_model

ROI = 944
CROP = 256


def similarity(scale: float, angle: float, tx: float, ty: float) -> np.ndarray:
    c, s = scale * np.cos(angle), scale * np.sin(angle)
    return np.array([[c, -s, tx], [s, c, ty], [0.0, 0.0, 1.0]])


def torch_path(fn: Callable[[], object]) -> Callable[[], object]:
    """``fn`` with the warp kernel off (FACESWAP_VFX_WARP=torch), as a build without it."""
    def run():
        old = warp_kernel.supports
        warp_kernel.supports = lambda image: False
        try:
            return fn()
        finally:
            warp_kernel.supports = old
    return run


def cases(work: Path) -> dict[str, tuple[Callable[[], object], Callable[[], object]]]:
    generated = torch.rand(1, 3, CROP, CROP)
    roi_from_crop = similarity(900 / CROP, 0.12, 30.0, -10.0)
    angles = np.linspace(0, 2 * np.pi, 27, endpoint=False)
    polygon = np.stack([472 + 330 * np.cos(angles), 480 + 400 * np.sin(angles)], 1)
    exported = render_shot.write_model(work)
    model = load_swap_model(exported, "b")
    module = torch.jit.load(str(exported)).eval()
    crop = torch.rand(1, 3, CROP, CROP)
    roi = torch.from_numpy(np.random.default_rng(0).random((ROI, ROI, 3), np.float32))
    roi = roi.permute(2, 0, 1)[None]  # (1, 3, H, W) view of (H, W, 3) memory, as the render's

    def crop_from(mode: str) -> Callable[[], object]:
        return lambda: warp_affine(roi, np.linalg.inv(roi_from_crop), (CROP, CROP), mode=mode,
                                   padding="border")

    bicubic_crop, bilinear_crop = crop_from("bicubic"), crop_from("bilinear")

    def as_exported(layout: torch.memory_format) -> Callable[[], object]:
        def run():
            module.to(memory_format=layout)
            with torch.inference_mode():
                return module(crop.contiguous(memory_format=layout))
        return run

    def warp():
        return warp_affine(generated, roi_from_crop, (ROI, ROI), mode="bicubic")

    def keys(isa: str) -> Callable[[], object]:
        crop_from_roi = np.linalg.inv(roi_from_crop)[None]
        return lambda: warp_kernel.warp_keys(generated, crop_from_roi, (ROI, ROI), "zeros",
                                             isa=isa)

    def cover():
        return warp_kernel.cover(np.linalg.inv(roi_from_crop), (CROP, CROP), (ROI, ROI))

    face = polygon_mask(polygon, (ROI, ROI))

    def cover_by_warp():
        return warp_affine(torch.ones(1, 1, CROP, CROP), roi_from_crop, (ROI, ROI)) > 0.999

    return {
        "antialiased crop ~944 -> 256 px": (bicubic_crop, torch_path(bicubic_crop)),
        "  the same, bilinear": (bilinear_crop, torch_path(bilinear_crop)),
        "Keys warp 256 -> 944 px": (warp, torch_path(warp)),
        f"  the same, {warp_kernel.instruction_set()} vs baseline": (keys("auto"),
                                                                   keys("baseline")),
        "coverage": (cover, cover_by_warp),
        "polygon raster": (lambda: polygon_mask(polygon, (ROI, ROI)),
                           lambda: polygon2mask((ROI, ROI), polygon[:, ::-1] - 0.5)),
        "feather, sigma 4 px": (lambda: feather(face, 4.0),
                                lambda: ndimage.gaussian_filter(face, 4.0, mode="nearest",
                                                                truncate=4.0)),
        "network 256 px width 0.25": (lambda: model.generate(crop),
                                      as_exported(torch.channels_last)),
        "  as exported, NHWC vs NCHW": (as_exported(torch.channels_last),
                                        as_exported(torch.contiguous_format)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: its own)")
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        todo = cases(Path(tmp))
        times: dict[str, list[list[float]]] = {name: [[], []] for name in todo}
        for pair in todo.values():  # warm up
            pair[0](), pair[1]()
        for _ in range(args.repeat):
            for name, pair in todo.items():
                for i, fn in enumerate(pair):
                    t0 = time.perf_counter()
                    fn()
                    times[name][i].append(time.perf_counter() - t0)
    print(f"torch threads {torch.get_num_threads()}, warp kernel built: "
          f"{warp_kernel.available()}; median of {args.repeat}")
    for name, (new, old) in times.items():
        a, b = statistics.median(new), statistics.median(old)
        print(f"  {name:<32} now {1e3 * a:7.1f} ms   before {1e3 * b:7.1f} ms   "
              f"{b / a:5.1f}x faster")


if __name__ == "__main__":
    main()
