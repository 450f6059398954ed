"""The dlib model files: where they are, and each loaded once per process.

The default files ship in the ``face_recognition_models`` package. It is found by its
import spec and never imported: its ``__init__`` imports ``pkg_resources``, which recent
setuptools no longer provides. A user's own ``.dat`` (parameter ``landmark_model``)
replaces the bundled 68-point predictor.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import dlib
import numpy as np

from faceswap_vfx.errors import ModelFileError

LANDMARKS_68 = "shape_predictor_68_face_landmarks.dat"
LANDMARKS_5 = "shape_predictor_5_face_landmarks.dat"
MMOD_DETECTOR = "mmod_human_face_detector.dat"
MODELS_PACKAGE = "face_recognition_models"


def models_dir() -> Path:
    """Folder of the bundled ``.dat`` files (``face_recognition_models/models``)."""
    spec = importlib.util.find_spec(MODELS_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise ModelFileError(f"the Python package {MODELS_PACKAGE} is not installed "
                             f"(pip install {MODELS_PACKAGE})", path=f"{MODELS_PACKAGE}/models")
    return Path(locations[0]) / "models"


def model_path(name: str, override: str | Path | None = None) -> Path:
    """The file to load: ``override`` when given (non-empty), else the bundled ``name``.

    Raises :class:`ModelFileError` naming the file if it is missing or not a readable file.
    """
    path = Path(override).expanduser() if override else models_dir() / name
    if not path.is_file():
        raise ModelFileError("dlib model file not found", path=path)
    try:
        with path.open("rb") as f:
            f.read(1)
    except OSError as exc:
        raise ModelFileError(f"dlib model file is not readable: {exc.strerror}",
                             path=path) from None
    return path.resolve()


def _stamp(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return str(path), st.st_mtime_ns, st.st_size  # a rewritten file is loaded again


@functools.lru_cache(maxsize=8)
def _load_predictor(stamp: tuple[str, int, int], parts: int) -> dlib.shape_predictor:
    path = stamp[0]
    try:
        predictor = dlib.shape_predictor(path)
    except RuntimeError as exc:
        raise ModelFileError(f"not a dlib shape predictor: {str(exc).strip()}", path=path) from None
    probe = predictor(np.zeros((8, 8, 3), np.uint8), dlib.rectangle(0, 0, 7, 7))
    if probe.num_parts != parts:
        raise ModelFileError(f"shape predictor gives {probe.num_parts} points, expected {parts}",
                             path=path)
    return predictor


def shape_predictor(path: str | Path | None = None, parts: int = 68) -> dlib.shape_predictor:
    """The ``parts``-point shape predictor from ``path`` (empty: the bundled one), cached."""
    name = LANDMARKS_68 if parts == 68 else LANDMARKS_5
    return _load_predictor(_stamp(model_path(name, path)), parts)


@functools.lru_cache(maxsize=4)
def _load_cnn(stamp: tuple[str, int, int]) -> dlib.cnn_face_detection_model_v1:
    try:
        return dlib.cnn_face_detection_model_v1(stamp[0])
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[-1]
        raise ModelFileError(f"not a dlib MMOD detector: {first}", path=stamp[0]) from None


def cnn_detector(path: str | Path | None = None) -> dlib.cnn_face_detection_model_v1:
    """dlib's MMOD CNN face detector (``mmod_human_face_detector.dat`` unless ``path``), cached."""
    return _load_cnn(_stamp(model_path(MMOD_DETECTOR, path)))


@functools.lru_cache(maxsize=1)
def hog_detector() -> dlib.fhog_object_detector:
    """dlib's HOG + linear SVM frontal face detector (built into dlib), cached."""
    return dlib.get_frontal_face_detector()
