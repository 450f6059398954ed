"""dlib model files: the bundled ones are found, bad ones raise ModelFileError naming them."""

from __future__ import annotations

import pytest

from faceswap_vfx.errors import ModelFileError
from faceswap_vfx.face import models


def test_bundled_files_found_without_importing_the_package():
    import sys

    for name in (models.LANDMARKS_68, models.LANDMARKS_5, models.MMOD_DETECTOR):
        assert models.model_path(name).is_file()
    assert models.MODELS_PACKAGE not in sys.modules  # found by spec, never imported


def test_predictor_is_cached():
    assert models.shape_predictor() is models.shape_predictor("")


def test_missing_file_names_it(tmp_path):
    missing = tmp_path / "nope_68.dat"
    with pytest.raises(ModelFileError, match="nope_68.dat") as info:
        models.shape_predictor(missing)
    assert info.value.path == str(missing)


def test_garbage_file_names_it(tmp_path):
    bad = tmp_path / "garbage.dat"
    bad.write_bytes(b"not a dlib model")
    with pytest.raises(ModelFileError, match="garbage.dat"):
        models.shape_predictor(bad)
    with pytest.raises(ModelFileError, match="garbage.dat"):
        models.cnn_detector(bad)


def test_wrong_model_kind_is_refused():
    five = models.model_path(models.LANDMARKS_5)
    with pytest.raises(ModelFileError, match="5 points, expected 68"):
        models.shape_predictor(five)
    with pytest.raises(ModelFileError, match="not a dlib shape predictor"):
        models.shape_predictor(models.model_path(models.MMOD_DETECTOR))


def test_folder_is_not_a_model(tmp_path):
    with pytest.raises(ModelFileError, match="not found"):
        models.shape_predictor(tmp_path)
