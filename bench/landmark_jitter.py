"""Landmark jitter and lag: raw dlib vs stabilised (refined + zero-phase smoothed).

Prints figures, asserts nothing. Run: ``python bench/landmark_jitter.py [--frames 48]``.

* Static face with sensor noise: RMS frame-to-frame landmark motion (px), raw dlib on the
  detector box vs refined on the aligned crop vs refined and smoothed (aim: >= 3x lower).
* Moving face (steady drift): lag of the stabilised landmarks behind raw dlib along the
  motion (px; aim < 0.5), and the error of each against the known motion.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from faceswap_vfx.core.geometry import apply
from faceswap_vfx.face.find import find_faces
from faceswap_vfx.face.stabilise import smooth
from faceswap_vfx.samples.plates import linear_motion, synth_sequence, to_uint8
from faceswap_vfx.samples.portraits import astronaut


def jitter(series: np.ndarray) -> float:
    """RMS frame-to-frame motion of (T, 68, 2) landmarks, px."""
    return float(np.sqrt(np.mean(np.sum(np.diff(series, axis=0) ** 2, axis=-1))))


def landmarks_of(frames: list[np.ndarray], refine_jitter: int | None) -> np.ndarray:
    out = []
    for frame in frames:
        faces = find_faces(to_uint8(frame), upsample=0, refine_jitter=refine_jitter)
        out.append(faces[0].landmarks)
    return np.stack(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=48)
    ap.add_argument("--noise", type=float, default=0.01, help="linear std dev of sensor noise")
    ap.add_argument("--jitter", type=int, default=4, help="refine_jitter")
    ap.add_argument("--cutoff", type=float, default=0.2, help="smooth_cutoff, cycles/frame")
    args = ap.parse_args()
    portrait = astronaut()
    plate = (640, 800)
    print(f"astronaut (face ~90 px) in a {plate[1]}x{plate[0]} plate, {args.frames} frames, "
          f"noise {args.noise} linear, refine_jitter {args.jitter}, cutoff {args.cutoff}")

    frames, _ = synth_sequence(portrait, args.frames, plate, "static", noise=args.noise, seed=1)
    t0 = time.perf_counter()
    raw = landmarks_of(frames, None)
    t1 = time.perf_counter()
    refined = landmarks_of(frames, args.jitter)
    t2 = time.perf_counter()
    stable = smooth(refined, args.cutoff)
    j_raw, j_ref, j_smooth = jitter(raw), jitter(refined), jitter(stable)
    print("static face, RMS frame-to-frame landmark motion (px):")
    print(f"  raw dlib            {j_raw:.3f}")
    print(f"  smoothed raw        {jitter(smooth(raw, args.cutoff)):.3f}")
    print(f"  refined             {j_ref:.3f}")
    print(f"  refined + smoothed  {j_smooth:.3f}   ({j_raw / j_smooth:.1f}x lower than raw)")
    n = args.frames
    print(f"  time per face: raw {1000 * (t1 - t0) / n:.0f} ms, refined "
          f"{1000 * (t2 - t1) / n:.0f} ms (detection included)")

    velocity = np.array([2.0, 0.75])
    motion = linear_motion(portrait.shape[:2], (300, 320), velocity=velocity, spin=0.2)
    frames, truth = synth_sequence(portrait, n, plate, motion, noise=args.noise, seed=2)
    reference = find_faces(to_uint8(portrait), upsample=0)[0].landmarks
    expected = np.stack([apply(m, reference) for m in truth])
    raw = landmarks_of(frames, None)
    stable = smooth(landmarks_of(frames, args.jitter), args.cutoff)
    v = velocity / np.linalg.norm(velocity)
    lag = float(np.mean((stable - raw).reshape(-1, 2) @ v))
    lag_truth = float(np.mean((stable - expected).reshape(-1, 2) @ v))

    def err(x: np.ndarray) -> float:
        return float(np.sqrt(np.mean(np.sum((x - expected) ** 2, axis=-1))))

    print(f"moving face ({velocity[0]}, {velocity[1]}) px/frame, 0.2 deg/frame "
          "(negative offset: lagging behind):")
    print(f"  offset of stabilised vs raw along the motion     {lag:+.3f} px")
    print(f"  offset of stabilised vs known motion, same axis  {lag_truth:+.3f} px")
    print(f"  RMS error vs known motion: raw {err(raw):.3f} px, stabilised {err(stable):.3f} px")
    print(f"  RMS frame-to-frame jitter about the motion: raw "
          f"{jitter(raw - expected):.3f} px, stabilised {jitter(stable - expected):.3f} px")


if __name__ == "__main__":
    main()
