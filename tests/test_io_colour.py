"""Colour through OCIO: the built-in config, $OCIO, named errors."""

import numpy as np
import pytest

from faceswap_vfx.errors import ColorSpaceError
from faceswap_vfx.io.colour import check_colorspace, config_name, convert, display_uint8


def test_roles_and_aliases_resolve():
    assert check_colorspace("scene_linear") == "ACEScg"
    assert check_colorspace("srgb_tx") == "sRGB Encoded Rec.709 (sRGB)"


def test_linear_to_srgb_encoding_matches_the_standard_curve():
    # Rec.709-linear grey (no gamut change) against the sRGB formula, in the test only
    grey = np.array([0.0, 0.0031308, 0.18, 0.5, 1.0], np.float32)
    rgb = np.repeat(grey[None, :, None], 3, axis=2)
    out = convert(rgb, "lin_rec709", "srgb_tx")[0, :, 0]
    expected = np.where(grey <= 0.0031308, 12.92 * grey, 1.055 * grey ** (1 / 2.4) - 0.055)
    np.testing.assert_allclose(out, expected, atol=2e-4)


def test_round_trip_keeps_hdr_values():
    rng = np.random.default_rng(0)
    rgb = (rng.random((8, 8, 3)) * 20 - 2).astype(np.float32)
    back = convert(convert(rgb, "scene_linear", "lin_rec709"), "lin_rec709", "scene_linear")
    np.testing.assert_allclose(back, rgb, rtol=1e-4, atol=1e-5)
    assert convert(rgb, "scene_linear", "scene_linear") is not rgb


def test_display_view_is_8_bit_and_handles_nan():
    rgb = np.array([[[np.nan, 0.18, 50.0]]], np.float32)
    view = display_uint8(rgb)
    assert view.dtype == np.uint8 and view.shape == (1, 1, 3)
    assert view[0, 0, 0] == 0 and view[0, 0, 2] == 255


def test_unknown_colour_space_is_named():
    with pytest.raises(ColorSpaceError, match="unknown colour space 'LogC3'.*ACEScg"):
        convert(np.zeros((1, 1, 3), np.float32), "LogC3", "srgb_tx")


def test_ocio_env_and_bad_config(monkeypatch, tmp_path):
    monkeypatch.setenv("OCIO", str(tmp_path / "missing.ocio"))
    assert config_name() == str(tmp_path / "missing.ocio")
    with pytest.raises(ColorSpaceError, match="missing.ocio"):
        convert(np.zeros((1, 1, 3), np.float32), "scene_linear", "srgb_tx")
    monkeypatch.delenv("OCIO")
    assert config_name() == "ocio://default"


def test_same_space_copies_unless_told_not_to():
    rgb = np.random.default_rng(0).random((4, 5, 3)).astype(np.float32)
    copied = convert(rgb, "scene_linear", "scene_linear")
    assert copied is not rgb and np.array_equal(copied, rgb)
    assert convert(rgb, "scene_linear", "scene_linear", copy=False) is rgb
    as64 = rgb.astype(np.float64)  # converted to float32: new pixels whatever ``copy`` says
    out = convert(as64, "scene_linear", "scene_linear", copy=False)
    assert out.dtype == np.float32 and np.array_equal(out, rgb)
    srgb = convert(rgb, "scene_linear", "srgb_tx", copy=False)  # a real transform: new pixels
    assert srgb is not rgb and not np.allclose(srgb, rgb)
