"""Frames per second of ``align`` on a 1920x1080 scene-linear EXR plate (CPU), and its
accuracy against the known motion.

Writes a generated plate (the astronaut moving, face ~150 px) into a temporary folder,
times :func:`faceswap_vfx.face.pipeline.align_sequence` and a per-stage breakdown, compares
the recovered ``plate_from_crop`` with the known motion, and prints the figures.
Run: ``python bench/align_fps.py [--frames 12] [--upsample 0 1]``.
Alignment runs torch single-threaded (:func:`~faceswap_vfx.face.pipeline.one_torch_thread`);
OpenImageIO, OCIO and dlib use what the machine has (``taskset -c 0,1`` for two cores).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from faceswap_vfx.core.geometry import apply, plate_from_crop
from faceswap_vfx.face.detect import detect
from faceswap_vfx.face.find import find_faces
from faceswap_vfx.face.landmarks import landmarks_many
from faceswap_vfx.face.pipeline import align_sequence, detector_view, one_torch_thread, read_part
from faceswap_vfx.face.stabilise import refine
from faceswap_vfx.io.sequence import ImageSequence
from faceswap_vfx.params import resolve
from faceswap_vfx.samples.exr_plate import write_sample_plate
from faceswap_vfx.samples.plates import to_uint8
from faceswap_vfx.samples.portraits import astronaut


def stages(seq: ImageSequence, params: dict) -> dict[str, float]:
    """Seconds per frame of each stage, run one after the other."""
    total = dict.fromkeys(("read EXR", "OCIO view", "detect", "landmarks", "refine"), 0.0)
    for frame in seq.frames:
        t0 = time.perf_counter()
        part = read_part(seq, frame)
        rgb = part.display_rgb()
        t1 = time.perf_counter()
        view = detector_view(rgb, params)
        t2 = time.perf_counter()
        found = detect(view, params["detector"], params["detector_upsample"])
        t3 = time.perf_counter()
        lms = landmarks_many(view, [d.box for d in found])
        t4 = time.perf_counter()
        for pts in lms:
            refine(view, pts, params["refine_jitter"])
        t5 = time.perf_counter()
        for key, dt in zip(total, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4), strict=True):
            total[key] += dt
    return {k: v / len(seq.frames) for k, v in total.items()}


def accuracy(alignment, truth_json: Path) -> None:
    """Print how far the recovered crops and landmarks are from the known motion, px."""
    truth = json.loads(truth_json.read_text())["plate_from_portrait"]
    reference = find_faces(to_uint8(astronaut()), upsample=0)[0].landmarks  # portrait px
    r, margin = alignment.crop_size, alignment.crop_margin
    corners = np.array([[0, 0], [r, 0], [0, r], [r, r]], np.float64)
    crop_err, lm_err = [], []
    for frame in alignment.frames:
        entry = alignment.entry(frame, alignment.track_ids[0])
        if entry.landmarks is None:
            continue
        m = np.array(truth[str(frame)])
        expected = m @ plate_from_crop(reference, r, margin)
        crop_err.append(np.linalg.norm(apply(entry.plate_from_crop, corners)
                                       - apply(expected, corners), axis=1).max())
        lm_err.append(np.linalg.norm(entry.landmarks - apply(m, reference), axis=1).mean())
    print(f"  vs known motion: crop corners max {max(crop_err):.2f} px (mean over frames "
          f"{np.mean(crop_err):.2f}), landmarks mean {np.mean(lm_err):.2f} px")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=12)
    ap.add_argument("--upsample", type=int, nargs="+", default=[0, 1])
    args = ap.parse_args()
    print(f"torch threads {torch.get_num_threads()}")
    with tempfile.TemporaryDirectory() as tmp:
        pattern = write_sample_plate(Path(tmp), list(range(1001, 1001 + args.frames)),
                                     (1080, 1920))
        seq = ImageSequence.find(pattern)
        for upsample in args.upsample:
            params = resolve({"detector_upsample": upsample})
            align_sequence(ImageSequence.find(pattern, [1001]), params)  # warm up, load models
            t0 = time.perf_counter()
            alignment = align_sequence(seq, params)
            seconds = time.perf_counter() - t0
            found = sum(e.flag == "detected" for v in alignment.faces.values() for e in v)
            print(f"1920x1080, detector_upsample {upsample}: {len(seq.frames) / seconds:.2f} "
                  f"frames/s ({1000 * seconds / len(seq.frames):.0f} ms/frame), "
                  f"{found}/{len(seq.frames)} frames with the face detected")
            accuracy(alignment, Path(tmp) / "truth.json")
            with one_torch_thread():  # as align_sequence runs
                parts = stages(seq, params)
            print("  per frame: " + ", ".join(f"{k} {1000 * v:.0f} ms" for k, v in parts.items()))


if __name__ == "__main__":
    main()
