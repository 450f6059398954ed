"""Public-domain portraits that ship inside Python packages (no download needed).

* ``astronaut``: ``skimage.data.astronaut()``, Eileen Collins, NASA photo (public domain);
  scikit-image is a runtime dependency.
* ``grace_hopper``: matplotlib's ``sample_data/grace_hopper.jpg`` (US Navy photo, public
  domain); matplotlib is a test extra.

Each loads as float32 (H, W, 3) sRGB-encoded values in [0, 1].
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import numpy as np


def _float(image: np.ndarray) -> np.ndarray:
    out = image[..., :3].astype(np.float32) / np.float32(255.0)
    out.setflags(write=False)  # cached: callers copy before changing it
    return out


@functools.cache
def astronaut() -> np.ndarray:
    """(512, 512, 3) float32 sRGB-encoded [0, 1]."""
    from skimage import data

    return _float(data.astronaut())


@functools.cache
def grace_hopper() -> np.ndarray:
    """(600, 512, 3) float32 sRGB-encoded [0, 1]. Needs matplotlib (the ``test`` extra)."""
    try:
        import matplotlib
        from matplotlib import image as mpimage
    except ImportError as exc:
        raise ImportError("grace_hopper() needs matplotlib (pip install faceswap_vfx[test])"
                          ) from exc
    path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    return _float(np.asarray(mpimage.imread(path)))


@functools.cache
def astronaut_head() -> np.ndarray:
    """(320, 320, 3) float32 sRGB-encoded [0, 1]: the astronaut's head and shoulders (face
    about 110 px), for plates framed on the face."""
    return astronaut()[20:340, 70:390]


PORTRAITS: dict[str, Callable[[], np.ndarray]] = {
    "astronaut": astronaut,
    "astronaut_head": astronaut_head,
    "grace_hopper": grace_hopper,
}
"""Portrait loaders by name."""


def portrait(name: str) -> np.ndarray:
    """A portrait by name (a key of :data:`PORTRAITS`)."""
    try:
        return PORTRAITS[name]()
    except KeyError:
        raise KeyError(f"no portrait {name!r}; choose from {', '.join(PORTRAITS)}") from None
