"""Derive ``faceswap_vfx.core.template.TEMPLATE_68`` from public-domain portraits.

Runs dlib's frontal face detector and 68-point shape predictor on
``skimage.data.astronaut()`` and matplotlib's ``sample_data/grace_hopper.jpg``, each
also mirrored; aligns the four shapes by generalised Procrustes (similarity), averages
them, makes the mean exactly left/right symmetric and upright, normalises it (landmark
bounding box centred at the origin, its larger side 1) and prints it as a Python literal
to paste into ``faceswap_vfx/core/template.py``.

Usage: python tools/make_template.py
"""

from __future__ import annotations

import importlib.util
import os
import sys

import dlib
import matplotlib
import matplotlib.image
import numpy as np
import skimage.data

from faceswap_vfx.core.geometry import apply, fit_similarity
from faceswap_vfx.core.template import MIRROR_68


def predictor_path() -> str:
    """The 68-point model shipped with face_recognition_models (located, not imported)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("face_recognition_models is not installed: no 68-point dlib model")
    root = list(spec.submodule_search_locations)[0]
    return os.path.join(root, "models", "shape_predictor_68_face_landmarks.dat")


def portraits() -> dict[str, np.ndarray]:
    """name -> (H, W, 3) uint8 RGB."""
    hopper = os.path.join(matplotlib.get_data_path(), "sample_data", "grace_hopper.jpg")
    images = {
        "astronaut": skimage.data.astronaut(),
        "grace_hopper": matplotlib.image.imread(hopper),
    }
    return {k: np.ascontiguousarray(v[..., :3]).astype(np.uint8) for k, v in images.items()}


def landmarks(image: np.ndarray, detector, predictor) -> np.ndarray:
    """(68, 2) landmarks of the largest face, in pixel-centre (+0.5) coordinates."""
    boxes = detector(image, 1)
    if not boxes:
        raise RuntimeError("no face found")
    box = max(boxes, key=lambda r: r.area())
    shape = predictor(image, box)
    return np.array([(p.x + 0.5, p.y + 0.5) for p in shape.parts()], dtype=np.float64)


def mirror(shape: np.ndarray) -> np.ndarray:
    """Mirror a (68, 2) shape about x = 0, relabelling left <-> right landmarks."""
    out = shape[MIRROR_68].copy()
    out[:, 0] *= -1.0
    return out


def normalise(shape: np.ndarray) -> np.ndarray:
    """Landmark bounding box centred at the origin, its larger side 1."""
    lo, hi = shape.min(axis=0), shape.max(axis=0)
    return (shape - (lo + hi) / 2.0) / float(np.max(hi - lo))


def procrustes_mean(shapes: list[np.ndarray], iterations: int = 20) -> np.ndarray:
    """Generalised Procrustes: align all to the running mean, average, repeat."""
    mean = normalise(shapes[0])
    for _ in range(iterations):
        aligned = [apply(fit_similarity(s, mean), s) for s in shapes]
        mean = normalise(np.mean(aligned, axis=0))
    return mean


def symmetrise(shape: np.ndarray) -> np.ndarray:
    """Exactly symmetric about a vertical axis, upright (eye corners level)."""
    for _ in range(10):  # align the mirror image onto the shape and average
        m = mirror(shape)
        shape = normalise((shape + apply(fit_similarity(m, shape), m)) / 2.0)
    # rotate so the symmetry axis is vertical: left/right pairs level on average
    left = np.arange(68) != MIRROR_68
    d = shape[MIRROR_68][left] - shape[left]
    d[d[:, 0] < 0] *= -1.0
    angle = np.arctan2(d[:, 1].sum(), d[:, 0].sum())
    c, s = np.cos(-angle), np.sin(-angle)
    shape = shape @ np.array([[c, -s], [s, c]]).T
    shape[:, 0] -= shape[:, 0].mean()
    shape = (shape + mirror(shape)) / 2.0  # now exact
    return normalise(shape)


def main() -> None:
    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(predictor_path())
    shapes = []
    for name, image in portraits().items():
        for flipped in (False, True):
            img = np.ascontiguousarray(image[:, ::-1]) if flipped else image
            pts = landmarks(img, detector, predictor)
            if flipped:  # back to the unflipped image's frame: x -> W - x, relabel
                pts = mirror(pts)
                pts[:, 0] += image.shape[1]
            shapes.append(pts)
            print(
                f"# {name}{' (mirrored)' if flipped else ''}: eye corners "
                f"{np.linalg.norm(pts[45] - pts[36]):.1f} px apart",
                file=sys.stderr,
            )
    template = symmetrise(procrustes_mean(shapes))
    spread = [
        np.sqrt(np.mean(np.sum((apply(fit_similarity(s, template), s) - template) ** 2, 1)))
        for s in shapes
    ]
    print(f"# rms residual per shape (face size 1): {np.round(spread, 4)}", file=sys.stderr)
    rows = ",\n".join(f"        [{x: .5f}, {y: .5f}]" for x, y in template)
    print(f"TEMPLATE_68 = np.array(\n    [\n{rows},\n    ],\n    dtype=np.float64,\n)")


if __name__ == "__main__":
    main()
