"""EXR and image file round trips through real OpenImageIO files; bad files named."""

import os
import stat

import numpy as np
import OpenImageIO as oiio
import pytest
from exr_fixtures import assert_same, bits, write_plate

from faceswap_vfx.errors import (
    ChannelError,
    MissingFrameError,
    OutputNotWritableError,
    PlateReadError,
    PlateWriteError,
)
from faceswap_vfx.io.image import Box, Image, read_header, read_image, write_image


@pytest.mark.parametrize("compression", ["zip", "zips", "piz", "rle", "none"])
def test_exr_read_write_is_bit_identical(tmp_path, compression):
    chans = write_plate(tmp_path / "in.exr", 1001, compression=compression)
    image = read_image(tmp_path / "in.exr")
    part = image.part
    assert part.channels["R"].dtype == np.float16 and part.channels["Z"].dtype == np.float32
    for name, values in chans.items():
        np.testing.assert_array_equal(bits(part.channels[name]), bits(values), name)
    assert part.data_window == Box(12, 7, 256, 144)
    assert part.display_window == Box(0, 0, 296, 164)
    assert part.attribute("Copyright") == "faceswap_vfx tests"
    assert part.attribute("framesPerSecond") == (24000, 1001)
    write_image(image, tmp_path / "out.exr")
    assert_same(image, read_image(tmp_path / "out.exr"))
    assert read_header(tmp_path / "out.exr")[0].getattribute("compression") == compression


def test_lossy_compression_is_kept_and_close(tmp_path):
    """DWAA re-encodes on every write (as in any application): kept, close, not bit-exact."""
    write_plate(tmp_path / "in.exr", 2, compression="dwaa")
    image = read_image(tmp_path / "in.exr")
    write_image(image, tmp_path / "out.exr")
    again = read_image(tmp_path / "out.exr")
    assert again.part.attribute("compression") == "dwaa"
    a = image.part.channels["G"].astype(np.float32)
    b = again.part.channels["G"].astype(np.float32)
    finite = np.isfinite(a) & (np.abs(a) < 100)
    assert np.median(np.abs(a - b)[finite]) < 0.05
    np.testing.assert_array_equal(image.part.channels["Z"], again.part.channels["Z"])


def test_hdr_extremes_survive(tmp_path):
    write_plate(tmp_path / "in.exr", 3)
    r = read_image(tmp_path / "in.exr").part.channels["R"][0, :10]
    assert np.isnan(r[0]) and r[1] == np.inf and r[2] == -np.inf
    assert r[4] == 65504 and r[5] == -65504 and np.signbit(r[9])
    assert read_image(tmp_path / "in.exr").part.rgb().dtype == np.float32


def test_multipart_round_trip(tmp_path):
    path = tmp_path / "multi.exr"
    beauty = oiio.ImageSpec(16, 8, 3, "half")
    beauty.channelnames = ("R", "G", "B")
    beauty.attribute("name", "beauty")
    depth = oiio.ImageSpec(16, 8, 1, "float")
    depth.channelnames = ("Z",)
    depth.attribute("name", "depth")
    depth.attribute("compression", "piz")
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), (beauty, depth))
    out.write_image(np.random.default_rng(0).random((8, 16, 3)).astype(np.float16))
    assert out.open(str(path), depth, "AppendSubimage")
    out.write_image(np.random.default_rng(1).random((8, 16, 1)).astype(np.float32))
    out.close()
    image = read_image(path)
    assert [p.name for p in image.parts] == ["beauty", "depth"]
    write_image(image, tmp_path / "again.exr")
    assert_same(image, read_image(tmp_path / "again.exr"))


def test_display_rgb_places_the_data_window(tmp_path):
    chans = write_plate(tmp_path / "in.exr", 5)
    full = read_image(tmp_path / "in.exr").part.display_rgb()
    assert full.shape == (164, 296, 3)
    np.testing.assert_array_equal(full[7 + 3, 12 + 20, 1], np.float32(chans["G"][3, 20]))
    assert (full[:7] == 0).all() and (full[:, :12] == 0).all()


def test_png_tiff_jpeg_read_through_the_same_api(tmp_path):
    rgb = np.linspace(0, 1, 32 * 16 * 3, dtype=np.float32).reshape(16, 32, 3)
    for ext, dtype, tol in [("png", np.uint16, 1e-4), ("tif", np.uint8, 3e-3),
                            ("jpg", np.uint8, 0.05)]:
        write_image(Image.from_array(rgb, dtype=dtype), tmp_path / f"photo.{ext}")
        back = read_image(tmp_path / f"photo.{ext}").part.rgb()
        assert back.dtype == np.float32 and back.shape == rgb.shape
        assert np.abs(back - rgb).max() < tol, ext
        region = (slice(3, 11), slice(5, 30))
        planar = read_image(tmp_path / f"photo.{ext}").part.rgb(region=region, planar=True)
        np.testing.assert_array_equal(planar, np.moveaxis(back[region], -1, 0))


def test_new_image_with_attributes(tmp_path):
    image = Image.from_array(np.ones((4, 6, 3), np.float32), dtype=np.float16,
                             attributes={"faceswap:identity": "grace", "faceswap:level": 3})
    write_image(image, tmp_path / "new.exr")
    part = read_image(tmp_path / "new.exr").part
    assert part.channels["R"].dtype == np.float16
    assert part.attribute("faceswap:identity") == "grace" and part.attribute("faceswap:level") == 3


# --- bad input: a named error that names the file and frame, nothing lost ------------------
def test_missing_file(tmp_path):
    with pytest.raises(MissingFrameError, match="frame 1003") as err:
        read_image(tmp_path / "plate.1003.exr", frame=1003)
    assert "plate.1003.exr" in str(err.value)


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.97])
def test_truncated_exr_is_a_named_error(tmp_path, keep):
    write_plate(tmp_path / "good.exr", 1, compression="none")
    data = (tmp_path / "good.exr").read_bytes()
    bad = tmp_path / "plate.1001.exr"
    bad.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(PlateReadError, match="corrupt or truncated") as err:
        read_image(bad, frame=1001)
    assert err.value.frame == 1001 and "plate.1001.exr" in str(err.value)


def test_corrupt_exr_is_a_named_error(tmp_path):
    bad = tmp_path / "junk.exr"
    bad.write_bytes(b"not an exr at all" * 50)
    with pytest.raises(PlateReadError, match="junk.exr"):
        read_image(bad, frame=7)


def test_unknown_channel_lists_what_exists(tmp_path):
    write_plate(tmp_path / "in.exr", 1)
    part = read_image(tmp_path / "in.exr").part
    with pytest.raises(ChannelError, match="no channel 'diffuse.R'.*mask.r") as err:
        part.rgb(("diffuse.R", "diffuse.G", "diffuse.B"), path="in.exr", frame=1)
    assert err.value.frame == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_unwritable_output_folder(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    with pytest.raises(OutputNotWritableError):
        write_image(Image.from_array(np.zeros((2, 2, 3), np.float32)), folder / "x.exr", 1)


def test_output_folder_that_cannot_be_made(tmp_path):
    (tmp_path / "afile").write_text("I am a file, not a folder")
    with pytest.raises(OutputNotWritableError, match="cannot create output folder") as err:
        write_image(Image.from_array(np.zeros((2, 2, 3), np.float32)),
                    tmp_path / "afile" / "out.exr", frame=4)
    assert err.value.frame == 4


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "plate.0001.exr"
    write_plate(target, 1)
    before = target.read_bytes()
    broken = Image.from_array(np.zeros((2, 2, 3), np.float32))
    broken.part.channels["R"] = np.zeros((3, 3), np.float32)  # does not match the window
    with pytest.raises(PlateWriteError, match="data window"):
        write_image(broken, target, frame=1)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plate.0001.exr"]
