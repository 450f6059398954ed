"""The chunk-table completeness check on real EXR files of every layout it reads."""

from __future__ import annotations

import numpy as np
import OpenEXR
import pytest

from faceswap_vfx.io.exr_chunks import chunks_complete
from faceswap_vfx.io.image import Image, write_image

RGB = np.random.default_rng(0).random((120, 160, 3)).astype(np.float32)


def cuts(data: bytes) -> list[int]:
    """Lengths to truncate at: in the headers, in the offset table, in the chunks, the end."""
    return [40, len(data) // 2, len(data) * 9 // 10, len(data) - 1]


@pytest.mark.parametrize("compression", ["none", "rle", "zips", "zip", "piz", "pxr24", "b44",
                                         "dwaa", "dwab"])
def test_scanline_files_complete_and_cut(tmp_path, compression):
    path = tmp_path / "a.exr"
    write_image(Image.from_array(RGB, dtype=np.float16, attributes={"compression": compression}),
                path)
    data = path.read_bytes()
    assert chunks_complete(path) is True
    for n in cuts(data):
        path.write_bytes(data[:n])
        assert chunks_complete(path) is False, n


def _tiles() -> OpenEXR.TileDescription:
    td = OpenEXR.TileDescription()
    td.xSize, td.ySize, td.mode = 32, 32, OpenEXR.ONE_LEVEL
    return td


def test_multipart_with_a_tiled_part(tmp_path):
    path = tmp_path / "mp.exr"
    half = RGB.astype(np.float16)
    OpenEXR.File([
        OpenEXR.Part({"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage},
                     {"RGB": half}, name="beauty"),
        OpenEXR.Part({"compression": OpenEXR.PIZ_COMPRESSION, "type": OpenEXR.tiledimage,
                      "tiles": _tiles()}, {"Y": half[..., 0].copy()}, name="depth"),
    ]).write(str(path))
    data = path.read_bytes()
    assert chunks_complete(path) is True
    for n in cuts(data):
        path.write_bytes(data[:n])
        assert chunks_complete(path) is False, n


def test_a_zeroed_offset_is_incomplete(tmp_path):
    """A writer killed before it filled in its offset table leaves zeros there."""
    from faceswap_vfx.io.exr_chunks import _headers

    path = tmp_path / "a.exr"
    write_image(Image.from_array(RGB, dtype=np.float16, attributes={"compression": "zip"}), path)
    data = bytearray(path.read_bytes())
    _, table = _headers(bytes(data), multipart=False)
    last = table + 8 * (120 // 16)  # zip: 16 lines a chunk, 8 chunks; zero the last offset
    data[last:last + 8] = bytes(8)
    path.write_bytes(bytes(data))
    assert chunks_complete(path) is False


def test_what_it_does_not_read_is_unknown_and_non_exr_is_incomplete(tmp_path):
    path = tmp_path / "tiled.exr"
    OpenEXR.File([OpenEXR.Part({"compression": OpenEXR.ZIP_COMPRESSION,
                                "type": OpenEXR.tiledimage, "tiles": _tiles()},
                               {"RGB": RGB.astype(np.float16)})]).write(str(path))
    assert chunks_complete(path) is None  # single-part tiled: no chunkCount to check against
    png = tmp_path / "a.exr"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    assert chunks_complete(png) is False
