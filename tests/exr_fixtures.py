"""Small generated EXR plates for the I/O tests: real files written with OpenImageIO."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import OpenImageIO as oiio

EXTREMES = np.array([np.nan, np.inf, -np.inf, -1.5, 65504.0, -65504.0, 6.1e-5, 5.96e-8, 0.0, -0.0],
                    np.float16)


def plate_pixels(frame: int, height: int = 144, width: int = 256) -> dict[str, np.ndarray]:
    """Channels of one frame: half R, G, B, A and mask.r, float Z, with HDR extremes."""
    rng = np.random.default_rng(frame)
    rgb = (rng.standard_normal((height, width, 3)) * 4.0).astype(np.float16)
    rgb[0, : len(EXTREMES), 0] = EXTREMES
    return {
        "R": rgb[..., 0], "G": rgb[..., 1], "B": rgb[..., 2],
        "A": rng.random((height, width)).astype(np.float16),
        "Z": (rng.random((height, width)) * 1e4).astype(np.float32),
        "mask.r": (rng.random((height, width)) > 0.5).astype(np.float16),
    }


def write_plate(path: Path, frame: int, *, height: int = 144, width: int = 256,
                compression: str = "zip") -> dict[str, np.ndarray]:
    """Write one frame (data window inset in a larger display window, rich metadata)
    directly through OpenImageIO; return its channels."""
    chans = plate_pixels(frame, height, width)
    names = list(chans)
    spec = oiio.ImageSpec(width, height, len(names), "half")
    spec.channelnames = tuple(names)
    spec.channelformats = tuple(oiio.TypeDesc("float" if chans[n].dtype == np.float32 else
                                              "half") for n in names)
    spec.x, spec.y = 12, 7
    spec.full_x, spec.full_y, spec.full_width, spec.full_height = 0, 0, width + 40, height + 20
    spec.attribute("compression", compression)
    spec.attribute("Copyright", "faceswap_vfx tests")  # EXR owner
    spec.attribute("framesPerSecond", oiio.TypeDesc("rational2i"), (24000, 1001))
    spec.attribute("worldToCamera", oiio.TypeDesc("matrix"), tuple(float(i) for i in range(16)))
    spec.attribute("chromaticities", oiio.TypeDesc("float[8]"),
                   (0.713, 0.293, 0.165, 0.830, 0.128, 0.044, 0.32168, 0.33767))
    spec.attribute("shot:frame", frame)
    spec.attribute("shot:focal", 35.5)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), spec), out.geterror()
    assert out.write_image(np.stack([chans[n].astype(np.float32) for n in names], -1))
    out.close()
    return chans


def write_sequence(folder: Path, frames, **kw) -> str:
    """Write ``plate.####.exr`` for ``frames``; return the pattern."""
    for f in frames:
        write_plate(folder / f"plate.{f:04d}.exr", f, **kw)
    return str(folder / "plate.####.exr")


def bits(a: np.ndarray) -> np.ndarray:
    """The raw bits of a float array (NaN payloads and -0 compare exactly)."""
    return a.view(np.dtype(f"u{a.dtype.itemsize}"))


def assert_same(a, b) -> None:
    """Two :class:`~faceswap_vfx.io.image.Image`: parts, channels (order, type, bits),
    windows, tiles, names and attributes (name, type, value, in order) all equal."""
    assert len(a.parts) == len(b.parts)
    for pa, pb in zip(a.parts, b.parts, strict=True):
        assert list(pa.channels) == list(pb.channels)
        for name in pa.channels:
            assert pa.channels[name].dtype == pb.channels[name].dtype, name
            np.testing.assert_array_equal(bits(pa.channels[name]), bits(pb.channels[name]),
                                          err_msg=name)
        assert (pa.data_window, pa.display_window, pa.tile, pa.name) == \
               (pb.data_window, pb.display_window, pb.tile, pb.name)
        assert [(x.name, x.type, x.value) for x in pa.attributes] == \
               [(x.name, x.type, x.value) for x in pb.attributes]
