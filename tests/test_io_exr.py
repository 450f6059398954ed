"""The OpenEXR path of EXR reads and writes (faceswap_vfx.io.exr): taken for ordinary
plates, the same files and images as OpenImageIO alone, OpenImageIO where it cannot be."""

import logging
import os
import re
from pathlib import Path

import numpy as np
import OpenEXR
import OpenImageIO as oiio
import pytest
from exr_fixtures import assert_same, write_plate

from faceswap_vfx.errors import PlateReadError, PlateWriteError
from faceswap_vfx.io import exr
from faceswap_vfx.io.image import (
    Box,
    Image,
    ImagePart,
    read_channels,
    read_image,
    set_codec_threads,
    write_image,
)

# Every attribute type the OpenEXR path writes: (name, OpenImageIO type, value, the type
# OpenImageIO reads back). Standard names are renamed in the file (Copyright -> owner...).
ATTRIBUTES = [
    ("shot:name", "string", "sh010", "string"),
    ("shot:frame", "int", -1001, "int"),
    ("shot:focal", "float", 35.5, "float"),
    ("shot:v2i", "int[2]", (3, -4), "vector2i"),
    ("shot:v2f", "float[2]", (1.5, -2.5), "float2"),
    ("shot:v3i", "int[3]", (1, 2, 3), "vectori"),
    ("shot:v3f", "vector", (1.0, 2.0, 3.5), "vector"),
    ("shot:box2i", "box2i", (1, 2, 30, 40), "vector2i[2]"),
    ("shot:box2f", "box2f", (0.5, 1.5, 2.5, 3.5), "float2[2]"),
    ("shot:m33", "matrix33", tuple(i / 4 for i in range(9)), "matrix33"),
    ("worldToCamera", "matrix", tuple(float(i) for i in range(16)), "matrix"),
    ("worldToNDC", "matrix", tuple(-i / 8 for i in range(16)), "matrix"),
    ("framesPerSecond", "rational2i", (24000, 1001), "rational"),
    ("smpte:TimeCode", "timecode", (0x01020304, 0), "timecode"),
    ("smpte:KeyCode", "keycode", (1, 2, 3, 4, 5, 4, 64), "keycode"),
    ("chromaticities", "float[8]", (0.713, 0.293, 0.165, 0.830, 0.128, 0.044, 0.32168,
                                    0.33767), "float[8]"),
    ("shot:weights", "float[5]", (1.0, 0.5, 0.25, 0.125, 0.0625), "float[5]"),
    ("shot:tags", "string[3]", ("hero", "", "take 2"), "string[3]"),
    ("openexr:lineOrder", "string", "decreasingY", "string"),
    ("Copyright", "string", "faceswap_vfx tests", "string"),
    ("ImageDescription", "string", "a plate", "string"),
    ("DateTime", "string", "2024:05:06 07:08:09", "string"),
    ("ExposureTime", "float", 0.02, "float"),
    ("FNumber", "float", 2.8, "float"),
    ("PixelAspectRatio", "float", 1.25, "float"),
    ("screenWindowCenter", "float[2]", (0.5, 0.25), "float2"),
    ("screenWindowWidth", "float", 2.0, "float"),
    ("openexr:custom", "int", 7, "int"),
]


def header_attributes(path: Path) -> list[tuple[str, str, bytes]]:
    """A single-part EXR file's header as stored: (name, type, value bytes) in file order."""
    return _layout(path)[0]


def chunk_bytes(path: Path) -> bytes:
    """A single-part EXR file's compressed pixels: all from the first chunk on."""
    return _layout(path)[1]


def _layout(path: Path) -> tuple[list[tuple[str, str, bytes]], bytes]:
    data = path.read_bytes()
    pos, found = 8, []
    while data[pos]:
        name_end = data.index(b"\0", pos)
        type_end = data.index(b"\0", name_end + 1)
        size = int.from_bytes(data[type_end + 1:type_end + 5], "little")
        found.append((data[pos:name_end].decode(), data[name_end + 1:type_end].decode(),
                      data[type_end + 5:type_end + 5 + size]))
        pos = type_end + 5 + size
    first_chunk = int.from_bytes(data[pos + 1:pos + 9], "little")  # offset table's first
    return found, data[first_chunk:]


def rich_plate(tmp_path: Path) -> Image:
    write_plate(tmp_path / "rich.exr", 1)
    image = read_image(tmp_path / "rich.exr", backend="oiio")
    for name, type_name, value, _ in ATTRIBUTES:
        image.part.set_attribute(name, type_name, value)
    return image


def spy(monkeypatch, name: str) -> list[str]:
    """Record each call of ``exr.<name>`` that returns (does not fall back)."""
    done: list[str] = []
    real = getattr(exr, name)

    def recording(*args, **kwargs):
        result = real(*args, **kwargs)
        done.append(name)
        return result

    monkeypatch.setattr(exr, name, recording)
    return done


# --- the fast path is taken, and gives OpenImageIO's result -----------------------------
def test_an_ordinary_plate_goes_through_openexr(tmp_path, monkeypatch):
    write_plate(tmp_path / "in.exr", 1001)
    reads, writes = spy(monkeypatch, "read"), spy(monkeypatch, "write")
    image = read_image(tmp_path / "in.exr")
    write_image(image, tmp_path / "out.exr")
    assert (reads, writes) == (["read"], ["write"])
    assert_same(read_image(tmp_path / "in.exr", backend="oiio"), image)
    assert_same(read_image(tmp_path / "out.exr", backend="oiio"), image)


def test_what_openimageio_adds_to_a_new_image_is_written(tmp_path, monkeypatch):
    writes = spy(monkeypatch, "write")
    image = Image.from_array(np.ones((4, 6, 3), np.float32), dtype=np.float16,
                             attributes={"faceswap:identity": "grace"})
    write_image(image, tmp_path / "new.exr")
    part = read_image(tmp_path / "new.exr").part
    assert writes == ["write"] and part.attribute("faceswap:identity") == "grace"
    assert re.fullmatch(r"\d{4}:\d\d:\d\d \d\d:\d\d:\d\d", part.attribute("DateTime"))
    assert part.attribute("compression") == "zip"


def test_openexr_writes_the_header_openimageio_writes(tmp_path):
    image = rich_plate(tmp_path)
    write_image(image, tmp_path / "oiio.exr", backend="oiio")
    write_image(image, tmp_path / "openexr.exr", backend="openexr")
    by_oiio = header_attributes(tmp_path / "oiio.exr")
    by_openexr = header_attributes(tmp_path / "openexr.exr")
    assert ("type", "string", b"scanlineimage") in by_openexr
    assert by_oiio == [a for a in by_openexr if a[0] != "type"]
    back = read_image(tmp_path / "openexr.exr", backend="oiio")
    assert_same(read_image(tmp_path / "oiio.exr", backend="oiio"), back)
    types = {a.name: a.type for a in back.part.attributes}
    assert {name: types.get(name) for name, *_, read_type in ATTRIBUTES} == \
           {name: read_type for name, *_, read_type in ATTRIBUTES}
    assert back.part.attribute("worldToNDC") == ATTRIBUTES[11][2]


def test_double_attributes_round_trip_through_openexr(tmp_path):
    """OpenImageIO reads them but its Python API cannot write them (it drops them);
    OpenEXR writes them, where OpenImageIO would (not under its own names, not tiff:)."""
    doubles = {"shot:exposure": np.array([1 / 3]), "shot:offset": np.array([0.1, -0.2]),
               "shot:position": np.array([1e-300, 2.0, 1 / 7]),
               "shot:m33d": np.arange(9.0).reshape(3, 3) / 3,
               "shot:m44d": np.arange(16.0).reshape(4, 4) / 7,
               "tiff:dropped": np.array([1.5]), "Copyright": np.array([2.5])}
    kept = list(doubles)[:5]
    OpenEXR.File({"compression": OpenEXR.ZIP_COMPRESSION, **doubles},
                 {"R": np.ones((4, 6), np.float16)}).write(str(tmp_path / "in.exr"))
    image = read_image(tmp_path / "in.exr")
    read_back = {a.name: (a.type, a.value) for a in image.part.attributes}
    assert [read_back[n][0] for n in kept] == ["double", "vector2d", "vectord", "matrix33d",
                                               "matrixd"]
    write_image(image, tmp_path / "openexr.exr", backend="openexr")
    write_image(image, tmp_path / "oiio.exr", backend="oiio")

    def attributes(name: str) -> dict:
        part = read_image(tmp_path / name).part
        return {a.name: (a.type, a.value) for a in part.attributes if a.name != "DateTime"}

    by_openexr, by_oiio = attributes("openexr.exr"), attributes("oiio.exr")
    assert {n: by_openexr.pop(n) for n in kept} == {n: read_back[n] for n in kept}
    assert by_openexr == by_oiio and not set(doubles) & set(by_oiio)
    stored = OpenEXR.File(str(tmp_path / "openexr.exr"), header_only=True).header()
    for name in kept:
        np.testing.assert_array_equal(stored[name].reshape(-1), doubles[name].reshape(-1))


def test_the_rich_plate_round_trips_bit_identical_through_openexr(tmp_path):
    image = rich_plate(tmp_path)
    write_image(image, tmp_path / "out.exr", backend="openexr")
    back = read_image(tmp_path / "out.exr", backend="openexr")
    assert_same(read_image(tmp_path / "out.exr", backend="oiio"), back)
    write_image(back, tmp_path / "again.exr", backend="openexr")
    assert_same(back, read_image(tmp_path / "again.exr", backend="openexr"))
    r = back.part.channels["R"][0, :10]
    assert np.isnan(r[0]) and r[1] == np.inf and r[2] == -np.inf
    assert r[4] == 65504 and r[5] == -65504 and np.signbit(r[9])


@pytest.mark.parametrize("compression", ["zip", "zips", "piz", "rle", "none", "zstd",
                                         "dwab:60", "b44"])
def test_each_compression_matches_openimageio(tmp_path, compression):
    """The same header and the same compressed bytes (so the same encoder level), lossy
    compression too."""
    write_plate(tmp_path / "in.exr", 2)
    image = read_image(tmp_path / "in.exr")
    image.part.set_attribute("compression", "string", compression)
    write_image(image, tmp_path / "oiio.exr", backend="oiio")
    write_image(image, tmp_path / "openexr.exr", backend="openexr")
    assert header_attributes(tmp_path / "oiio.exr") == \
           [a for a in header_attributes(tmp_path / "openexr.exr") if a[0] != "type"]
    assert chunk_bytes(tmp_path / "oiio.exr") == chunk_bytes(tmp_path / "openexr.exr")
    assert_same(read_image(tmp_path / "oiio.exr", backend="oiio"),
                read_image(tmp_path / "openexr.exr", backend="openexr"))


def test_multipart_and_tiled_match_openimageio(tmp_path):
    write_plate(tmp_path / "in.exr", 3)
    beauty = read_image(tmp_path / "in.exr").part
    beauty.name, beauty.tile = "beauty", (64, 32)
    beauty.set_attribute("openexr:lineOrder", "string", "randomY")
    rng = np.random.default_rng(3)
    depth = ImagePart({"Z": rng.random((40, 50), np.float32)}, Box(-5, 9, 50, 40),
                      beauty.display_window, tile=(16, 16), name="depth")
    depth.set_attribute("compression", "string", "piz")
    ids = ImagePart({"id": rng.integers(0, 2 ** 32, (3, 5), np.uint32)}, Box(1, 2, 5, 3),
                    beauty.display_window, tile=(8, 8))  # OpenImageIO names it
    for part in (depth, ids):  # else OpenImageIO stamps each write with the second it runs in
        part.set_attribute("DateTime", "string", "2026:01:02 03:04:05")
    image = Image([beauty, depth, ids])
    write_image(image, tmp_path / "oiio.exr", backend="oiio")
    write_image(image, tmp_path / "openexr.exr", backend="openexr")
    back = read_image(tmp_path / "openexr.exr", backend="openexr")
    assert_same(read_image(tmp_path / "oiio.exr", backend="oiio"), back)
    assert [p.tile for p in back.parts] == [(64, 32), (16, 16), (8, 8)]
    assert [p.name for p in back.parts] == ["beauty", "depth", "subimage02"]
    np.testing.assert_array_equal(back.parts[2].channels["id"], ids.channels["id"])
    assert back.parts[1].data_window == Box(-5, 9, 50, 40)


def test_tiled_and_scanline_parts_cannot_share_a_file(tmp_path):
    """OpenImageIO cannot write them (it aborts); a named error instead."""
    parts = [Image.from_array(np.ones((4, 6, 1), np.float16), ("Y",)).part for _ in range(2)]
    parts[0].tile, parts[0].name, parts[1].name = (16, 16), "a", "b"
    for backend in ("auto", "oiio"):
        with pytest.raises(PlateWriteError, match="tiled and scanline parts"):
            write_image(Image(parts), tmp_path / "mixed.exr", backend=backend)
    assert list(tmp_path.iterdir()) == []


def test_uint_channels_beside_half_keep_their_values(tmp_path):
    """OpenImageIO alone clamps them (it writes mixed types from one float buffer)."""
    ids = np.arange(4 * 6, dtype=np.uint32).reshape(4, 6) * 123456789
    image = Image.from_array(np.ones((4, 6, 3), np.float16))
    image.part.channels["id"] = ids
    write_image(image, tmp_path / "out.exr")
    np.testing.assert_array_equal(read_image(tmp_path / "out.exr").part.channels["id"], ids)


def test_read_channels_through_openexr(tmp_path, monkeypatch):
    write_plate(tmp_path / "in.exr", 4)
    reads = spy(monkeypatch, "read")
    part = read_channels(tmp_path / "in.exr", ["Z", "G"])
    assert reads == ["read"] and list(part.channels) == ["Z", "G"]
    assert_same(Image([read_channels(tmp_path / "in.exr", ["Z", "G"], backend="oiio")]),
                Image([part]))


# --- what OpenEXR cannot do goes through OpenImageIO, with the same result ----------------
def _keycode_out_of_range(image: Image) -> None:
    image.part.set_attribute("smpte:KeyCode", "keycode", (1, 2, 3, 4, 5, 6, 7))


def _uint8(image: Image) -> None:
    image.part.channels["mask.r"] = (image.part.channels["mask.r"] > 0).astype(np.uint8)


@pytest.mark.parametrize("change, reason", [
    (_uint8, "pixel type uint8"),
    (lambda im: im.part.set_attribute("compression", "string", "zip:9"), "zip level 9"),
    (lambda im: im.part.set_attribute("framesPerSecond", "rational2i", (48, 2)),
     "lowest terms"),
    (_keycode_out_of_range, "perforations"),
])
def test_what_openexr_cannot_write_goes_through_openimageio(tmp_path, caplog, change, reason):
    write_plate(tmp_path / "in.exr", 5)
    image = read_image(tmp_path / "in.exr")
    change(image)
    with pytest.raises(PlateWriteError, match=reason):
        write_image(image, tmp_path / "forced.exr", backend="openexr")
    assert not (tmp_path / "forced.exr").exists()
    caplog.set_level(logging.DEBUG, logger="faceswap_vfx.io.image")
    write_image(image, tmp_path / "auto.exr")
    assert reason in caplog.text
    write_image(image, tmp_path / "oiio.exr", backend="oiio")
    assert_same(read_image(tmp_path / "oiio.exr", backend="oiio"),
                read_image(tmp_path / "auto.exr", backend="oiio"))


def test_an_empty_image_is_openimageios_error(tmp_path):
    empty = Image.from_array(np.zeros((0, 5, 3), np.float16))
    with pytest.raises(PlateWriteError, match="not through OpenEXR: empty data window"):
        write_image(empty, tmp_path / "out.exr", backend="openexr")
    with pytest.raises(PlateWriteError, match="resolution must be at least 1x1"):
        write_image(empty, tmp_path / "out.exr")
    assert list(tmp_path.iterdir()) == []


def test_a_header_openexr_rejects_is_read_through_openimageio(tmp_path):
    write_plate(tmp_path / "in.exr", 6)
    image = read_image(tmp_path / "in.exr")
    _keycode_out_of_range(image)
    write_image(image, tmp_path / "kc.exr")
    with pytest.raises(PlateReadError, match="OpenEXR cannot read"):
        read_image(tmp_path / "kc.exr", backend="openexr")
    back = read_image(tmp_path / "kc.exr")
    assert back.part.attribute("smpte:KeyCode") == (1, 2, 3, 4, 5, 6, 7)
    assert_same(read_image(tmp_path / "kc.exr", backend="oiio"), back)


def test_deep_and_other_formats_stay_with_openimageio(tmp_path):
    samples = np.empty((2, 3), dtype=object)
    for y, x in np.ndindex(2, 3):
        samples[y, x] = np.arange((x + y) % 3, dtype=np.float32) if (x + y) % 3 else None
    OpenEXR.File({"compression": OpenEXR.ZIPS_COMPRESSION, "type": OpenEXR.deepscanline},
                 {"Z": samples}).write(str(tmp_path / "deep.exr"))
    with pytest.raises(PlateReadError, match="deep images are not supported"):
        read_image(tmp_path / "deep.exr")
    with pytest.raises(PlateReadError, match="not through OpenEXR: deep data"):
        read_image(tmp_path / "deep.exr", backend="openexr")
    write_image(Image.from_array(np.zeros((2, 2, 3), np.float32), dtype=np.uint8),
                tmp_path / "x.png")
    with pytest.raises(PlateReadError, match="png file"):
        read_image(tmp_path / "x.png", backend="openexr")
    with pytest.raises(PlateWriteError, match="png file"):
        write_image(read_image(tmp_path / "x.png"), tmp_path / "y.png", backend="openexr")
    with pytest.raises(ValueError, match="backend 'fast'"):
        read_image(tmp_path / "x.png", backend="fast")


def test_read_channels_of_a_multipart_file_stay_with_openimageio(tmp_path):
    parts = [Image.from_array(np.full((4, 6, 1), v, np.float16), ("Y",)).part for v in (1, 2)]
    parts[0].name, parts[1].name = "a", "b"
    write_image(Image(parts), tmp_path / "multi.exr")
    with pytest.raises(PlateReadError, match="some parts of a multi-part file"):
        read_channels(tmp_path / "multi.exr", ["Y"], backend="openexr")
    assert (read_channels(tmp_path / "multi.exr", ["Y"]).channels["Y"] == 1).all()


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.8, 0.95, 0.999])
@pytest.mark.parametrize("layout", ["zip", "none", "multipart"])
def test_truncated_files_are_never_read_through_openexr(tmp_path, capsys, keep, layout):
    """OpenEXR's Python API drops a part it cannot decode (a warning on stdout, no error):
    the part count must give it away, OpenImageIO name the error, stdout stay clean."""
    if layout == "multipart":
        halves = [Image.from_array(np.random.default_rng(v).random((64, 80, 3)), dtype=np.float16
                                   ).part for v in (1, 2)]
        halves[0].name, halves[1].name = "left", "right"
        write_image(Image(halves), tmp_path / "good.exr")
    else:
        write_plate(tmp_path / "good.exr", 7, compression=layout)
    data = (tmp_path / "good.exr").read_bytes()
    bad = tmp_path / "plate.1007.exr"
    bad.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(PlateReadError, match="corrupt or truncated") as err:
        read_image(bad, frame=1007)
    assert err.value.frame == 1007 and capsys.readouterr().out == ""
    specs = read_header_or_none(bad)
    if specs is not None:
        with pytest.raises(exr.Unsupported):
            exr.read(bad, specs)


def read_header_or_none(path: Path) -> list[oiio.ImageSpec] | None:
    inp = oiio.ImageInput.open(str(path))
    if inp is None:
        oiio.geterror()
        return None
    specs = []
    while inp.seek_subimage(len(specs), 0):
        specs.append(oiio.ImageSpec(inp.spec()))
    inp.close()
    return specs


# --- threads ----------------------------------------------------------------------------
def test_codec_threads_reach_openexr():
    try:
        set_codec_threads(3)
        assert OpenEXR.global_thread_count() == 3
        set_codec_threads(0)
        assert OpenEXR.global_thread_count() == os.cpu_count()
    finally:
        set_codec_threads(0)


def _read_in_child(src, queue):
    image = read_image(src)
    queue.put({n: c.tobytes() for n, c in image.part.channels.items()})


def test_a_forked_child_reads_without_the_parents_threads(tmp_path):
    """OpenEXR keeps worker threads that a forked child (a DataLoader worker) does not
    have: after the parent used them, a child must still read (through OpenImageIO), not
    wait forever."""
    import multiprocessing

    write_plate(tmp_path / "a.exr", 1, height=200, width=300)
    image = read_image(tmp_path / "a.exr")  # the parent's OpenEXR threads at work
    write_image(image, tmp_path / "b.exr")
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_read_in_child, args=(tmp_path / "b.exr", queue))
    child.start()
    try:  # the result before the join: a full pipe would hold the child up otherwise
        got = queue.get(timeout=60)
    except Exception:  # noqa: BLE001 - queue.Empty: nothing came back
        got = None
    finally:
        child.join(timeout=5)
        if child.is_alive():
            child.kill()
    assert got is not None, "the child hung (OpenEXR's thread pool) or failed"
    assert child.exitcode == 0
    assert got == {n: c.tobytes() for n, c in image.part.channels.items()}
