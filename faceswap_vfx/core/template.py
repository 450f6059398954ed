"""The canonical frontal 68-point face (iBUG 300-W / dlib order) and its index groups.

Normalisation of :data:`TEMPLATE_68`, in "template units" (face size = 1): x right,
y down, the landmarks' bounding box is centred at the origin and its larger side (the
jaw width, landmark 0 to 16) is exactly 1; the face is upright and exactly left/right
symmetric about x = 0. "Left"/"right" below are as seen in the image.
"""

from __future__ import annotations

import numpy as np

# Made by tools/make_template.py: dlib's 68-point shape predictor (the model shipped with
# face_recognition_models) with dlib.get_frontal_face_detector on the public-domain
# portraits skimage.data.astronaut() and matplotlib's sample_data/grace_hopper.jpg, each
# also mirrored; generalised Procrustes (similarity) alignment, mean, symmetrised,
# normalised as above; rounded to 5 decimals. Re-run the script to regenerate.
TEMPLATE_68 = np.array(
    [
        [-0.50000, -0.28688],
        [-0.48753, -0.15650],
        [-0.46865, -0.03358],
        [-0.44584, 0.09335],
        [-0.40568, 0.21324],
        [-0.33849, 0.32125],
        [-0.24149, 0.40302],
        [-0.13111, 0.46814],
        [0.00000, 0.48408],
        [0.13111, 0.46814],
        [0.24149, 0.40302],
        [0.33849, 0.32125],
        [0.40568, 0.21324],
        [0.44584, 0.09335],
        [0.46865, -0.03358],
        [0.48753, -0.15650],
        [0.50000, -0.28688],
        [-0.43219, -0.37668],
        [-0.38021, -0.45673],
        [-0.28873, -0.48408],
        [-0.19569, -0.47589],
        [-0.10826, -0.43980],
        [0.10826, -0.43980],
        [0.19569, -0.47589],
        [0.28873, -0.48408],
        [0.38021, -0.45673],
        [0.43219, -0.37668],
        [0.00000, -0.33429],
        [0.00000, -0.24125],
        [0.00000, -0.15108],
        [0.00000, -0.06100],
        [-0.11229, -0.01374],
        [-0.05756, 0.00233],
        [0.00000, 0.01830],
        [0.05756, 0.00233],
        [0.11229, -0.01374],
        [-0.32025, -0.31932],
        [-0.26750, -0.35664],
        [-0.20106, -0.35804],
        [-0.14154, -0.30760],
        [-0.20661, -0.30065],
        [-0.26888, -0.30058],
        [0.14154, -0.30760],
        [0.20106, -0.35804],
        [0.26750, -0.35664],
        [0.32025, -0.31932],
        [0.26888, -0.30058],
        [0.20661, -0.30065],
        [-0.22223, 0.12372],
        [-0.14103, 0.10670],
        [-0.05954, 0.10303],
        [0.00000, 0.11546],
        [0.05954, 0.10303],
        [0.14103, 0.10670],
        [0.22223, 0.12372],
        [0.14458, 0.20265],
        [0.06294, 0.23510],
        [0.00000, 0.24415],
        [-0.06294, 0.23510],
        [-0.14458, 0.20265],
        [-0.19301, 0.12989],
        [-0.05944, 0.13844],
        [0.00000, 0.14754],
        [0.05944, 0.13844],
        [0.19301, 0.12989],
        [0.05954, 0.17887],
        [0.00000, 0.18581],
        [-0.05954, 0.17887],
    ],
    dtype=np.float64,
)

JAW = range(0, 17)
"""Jaw line, image-left ear to image-right ear through the chin (8)."""
BROWS = range(17, 27)
"""Eyebrows, image-left brow 17..21 then image-right brow 22..26, each left to right."""
NOSE = range(27, 36)
"""Nose bridge 27..30 (top to tip), then the nostrils' base 31..35."""
EYES = range(36, 48)
"""Image-left eye 36..41, image-right eye 42..47, each from its left corner clockwise."""
MOUTH = range(48, 68)
"""Outer lips 48..59 (corners 48 and 54), inner lips 60..67 (corners 60 and 64)."""

OUTER_INDICES = tuple(JAW) + tuple(range(26, 16, -1))
"""Closed outer contour of the face (the paper's "outer facial landmarks", Algorithm 1):
jaw 0..16, then the brows back from 26 to 17."""

MIRROR_68 = np.array(
    list(range(16, -1, -1))  # jaw
    + list(range(26, 16, -1))  # brows
    + [27, 28, 29, 30]  # nose bridge
    + [35, 34, 33, 32, 31]  # nose base
    + [45, 44, 43, 42, 47, 46]  # eye 36..41
    + [39, 38, 37, 36, 41, 40]  # eye 42..47
    + [54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55]  # outer lips
    + [64, 63, 62, 61, 60, 67, 66, 65],  # inner lips
    dtype=np.intp,
)
"""Relabelling of a mirrored face: point ``i`` of a face is point ``MIRROR_68[i]`` of its
mirror image."""

FACE_BOX = (
    float(TEMPLATE_68[:, 0].min()),
    float(TEMPLATE_68[:, 1].min()),
    float(TEMPLATE_68[:, 0].max()),
    float(TEMPLATE_68[:, 1].max()),
)
"""Bounding box ``(x0, y0, x1, y1)`` of :data:`TEMPLATE_68`, template units."""

TEMPLATE_68.setflags(write=False)
MIRROR_68.setflags(write=False)
