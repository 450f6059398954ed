"""Colour conversions through OpenColorIO (as bundled by OpenImageIO).

The config is, in order: the one given, ``$OCIO``, OpenImageIO's built-in
``ocio://default`` (ACES cg-config: ``scene_linear`` is ACEScg, ``srgb_tx`` is the sRGB
encoding of Rec.709). Colour spaces are named as the config names them, by name, alias
or role. No transfer curve is written by hand here.
"""

from __future__ import annotations

import functools
import os

import numpy as np
import OpenImageIO as oiio

from faceswap_vfx.errors import ColorSpaceError

DEFAULT_CONFIG = "ocio://default"


def config_name(config: str = "") -> str:
    """The config actually used for ``config`` ("" -> ``$OCIO`` -> built-in)."""
    return config or os.environ.get("OCIO", "") or DEFAULT_CONFIG


@functools.lru_cache(maxsize=8)
def _load(name: str) -> oiio.ColorConfig:
    cfg = oiio.ColorConfig(name)
    error = cfg.geterror()
    if error or cfg.getNumColorSpaces() == 0:
        raise ColorSpaceError(f"cannot load OCIO config: {error.strip() or 'no colour spaces'}",
                              path=name)
    return cfg


def colour_config(config: str = "") -> oiio.ColorConfig:
    """The loaded config; :class:`ColorSpaceError` names a config that cannot be loaded."""
    return _load(config_name(config))


def check_colorspace(name: str, config: str = "") -> str:
    """Return the config's own name for colour space, alias or role ``name``, or raise
    :class:`ColorSpaceError` listing what the config has."""
    return _resolve(name, config_name(config))


@functools.lru_cache(maxsize=64)
def _resolve(name: str, config: str) -> str:
    cfg = _load(config)
    if cfg.getColorSpaceIndex(name) < 0:
        known = ", ".join(cfg.getColorSpaceNames())
        raise ColorSpaceError(f"unknown colour space {name!r}; the config has: {known}",
                              path=config)
    return cfg.getColorSpaceNameByRole(name) or cfg.resolve(name)


def convert(rgb: np.ndarray, src: str, dst: str, config: str = "", copy: bool = True
            ) -> np.ndarray:
    """Convert float (H, W, 3) pixels from colour space ``src`` to ``dst``; float32 out.

    Values outside [0, 1] pass through the transforms as the config defines them (no
    clipping here). Same names (or aliases of one space) return a float32 copy, or with
    ``copy=False`` the pixels themselves (whatever their strides) when they are float32.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected (H, W, 3) pixels, got {rgb.shape}")
    src_name, dst_name = check_colorspace(src, config), check_colorspace(dst, config)
    if src_name == dst_name:
        pixels = np.asarray(rgb, dtype=np.float32)
        return pixels.copy() if copy and pixels is rgb else pixels
    pixels = np.ascontiguousarray(rgb, dtype=np.float32)
    buf = oiio.ImageBuf(pixels)
    # OpenImageIO's own default config is ours without one ($OCIO, else built in) and is
    # loaded once; naming a config loads it again on every call (~20-40 ms)
    named = config_name(config)
    options = {} if named == config_name() else {"colorconfig": named}
    out = oiio.ImageBufAlgo.colorconvert(buf, src_name, dst_name, False, **options)
    if out.has_error:
        raise ColorSpaceError(f"OCIO conversion {src!r} -> {dst!r} failed: {out.geterror()}",
                              path=config_name(config))
    return out.get_pixels(oiio.FLOAT).reshape(pixels.shape)


def display_uint8(rgb: np.ndarray, src: str = "scene_linear", dst: str = "srgb_tx",
                  config: str = "") -> np.ndarray:
    """A display-referred 8-bit view, uint8 (H, W, 3), of float pixels in ``src``: the view
    the face detector and the landmark predictor see. NaN becomes 0, the rest is clipped."""
    encoded = convert(np.nan_to_num(rgb, nan=0.0, posinf=0.0, neginf=0.0), src, dst, config)
    return np.round(np.clip(encoded, 0.0, 1.0) * 255.0).astype(np.uint8)
